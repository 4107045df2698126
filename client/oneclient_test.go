package client

import (
	"context"
	"errors"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

func TestOneClient(t *testing.T) {
	f := newFakeNet(2)
	d, _ := NewMultipleServersDiscovery(f.pairs())
	defer d.Close()
	oc := NewOneClient(Failover, RoundRobin, d, DefaultOption)
	oc.newClient = f.factory()
	p := &recordingPlugin{}
	pc := NewPluginContainer()
	pc.Add(p)
	oc.SetPlugins(pc)
	oc.Auth("tok")
	oc.ConfigGeoSelector(1, 2)
	var reply int
	for _, sp := range []string{"Arith", "Other", "Arith"} {
		if err := oc.Call(t.Context(), sp, "Mul", 1, &reply); err != nil {
			t.Fatal(err)
		}
	}
	if len(oc.xclients) != 2 || oc.GetPlugins() != pc || len(p.pre) != 3 {
		t.Fatalf("xclients %d pre %v", len(oc.xclients), p.pre)
	}
	oc.SetSelector("Arith", &firstSelector{})
	if err := oc.Call(t.Context(), "Arith", "Mul", 1, &reply); err != nil || reply != 0 {
		t.Fatalf("selector: %v %d", err, reply)
	}
	call, err := oc.Go(t.Context(), "Arith", "Mul", 1, &reply, nil)
	if err != nil || (<-call.Done).Error != nil {
		t.Fatalf("go: %v", err)
	}
	if err := oc.Broadcast(t.Context(), "Arith", "Mul", 1, &reply); err != nil {
		t.Fatal(err)
	}
	if err := oc.Fork(t.Context(), "Arith", "Mul", 1, &reply); err != nil {
		t.Fatal(err)
	}
	if r, err := oc.Inform(t.Context(), "Arith", "Mul", 1, &reply); err != nil || len(r) != 2 {
		t.Fatal(err)
	}
	if err := oc.Oneshot(t.Context(), "Arith", "Mul", 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := oc.SendRaw(t.Context(), nil); !errors.Is(err, ErrNilMessage) {
		t.Fatal(err)
	}
	if err := oc.SendFile(t.Context(), "x", 0, nil); err == nil {
		t.Fatal(err)
	}
	if err := oc.DownloadFile(t.Context(), "x", nil, nil); err == nil {
		t.Fatal(err)
	}
	if _, err := oc.Stream(t.Context(), nil); err == nil {
		t.Fatal(err)
	}
	oc.Close()
	oc.Close()
	if err := oc.Call(context.Background(), "Arith", "Mul", 1, &reply); !errors.Is(err, ErrXClientShutdown) {
		t.Fatalf("after close: %v", err)
	}
	if err := NewOneClient(Failover, RoundRobin, nil, DefaultOption).Call(t.Context(), "A", "B", 1, &reply); !errors.Is(err, ErrXClientNoServer) {
		t.Fatalf("no discovery: %v", err)
	}
}

func TestPools(t *testing.T) {
	f := newFakeNet(1)
	d, _ := NewMultipleServersDiscovery(f.pairs())
	defer d.Close()
	p := NewXClientPool(0, "Arith", Failover, RandomSelect, d, DefaultOption)
	if p.Get() != p.Get() { // count 0 means 1
		t.Fatal("pool of 1 returned two clients")
	}
	p.Close()
	p = NewBidirectionalXClientPool(3, "Arith", Failover, RandomSelect, d, DefaultOption, make(chan *protocol.Message, 1))
	p.Auth("x")
	seen := map[XClient]bool{}
	for i := 0; i < 6; i++ {
		seen[p.Get()] = true
	}
	if len(seen) != 3 {
		t.Fatalf("%d distinct clients", len(seen))
	}
	p.Close()
	op := NewOneClientPool(2, Failover, RandomSelect, d, DefaultOption)
	op.Auth("x")
	if op.Get() == op.Get() {
		t.Fatal("one client pool did not rotate")
	}
	op.Close()
	bp := NewBidirectionalOneClientPool(1, Failover, RandomSelect, d, DefaultOption, nil)
	bp.Close()
}

type mulArgs struct{ A, B int }
type mulReply struct{ C int }

func TestTypedXClient(t *testing.T) {
	f := newFakeNet(2)
	for i := 0; i < 2; i++ {
		f.get(i).setBehaviour(func(ctx context.Context, c *fakeClient, m string, a, r interface{}) error {
			args := a.(*mulArgs)
			r.(*mulReply).C = args.A * args.B
			return nil
		})
	}
	x, _ := newFakeXClient(t, f, Failover, RoundRobin, DefaultOption)
	tc := NewTypedXClient[mulArgs, mulReply](x, "Mul")
	res, err := tc.Call(t.Context(), &mulArgs{3, 4})
	if err != nil || res.C != 12 {
		t.Fatalf("call: %v %v", res, err)
	}
	ch, err := tc.Go(t.Context(), &mulArgs{2, 5})
	if err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.Err != nil || r.Reply.C != 10 {
		t.Fatalf("go: %+v", r)
	}
	if r, err := tc.Broadcast(t.Context(), &mulArgs{1, 1}); err != nil || r.C != 1 {
		t.Fatal(err)
	}
	if r, err := tc.Fork(t.Context(), &mulArgs{1, 2}); err != nil || r.C != 2 {
		t.Fatal(err)
	}
	f.get(0).setBehaviour(serviceFailure)
	f.get(1).setBehaviour(serviceFailure)
	if _, err := tc.Call(t.Context(), &mulArgs{}); !IsServiceError(err) {
		t.Fatal(err)
	}
	ch, _ = tc.Go(t.Context(), &mulArgs{})
	if r := <-ch; !IsServiceError(r.Err) {
		t.Fatal(r.Err)
	}
	if _, err := tc.Broadcast(t.Context(), &mulArgs{}); err == nil {
		t.Fatal("broadcast")
	}
	if _, err := tc.Fork(t.Context(), &mulArgs{}); err == nil {
		t.Fatal("fork")
	}
	x.Close()
	if _, err := tc.Go(t.Context(), &mulArgs{}); !errors.Is(err, ErrXClientShutdown) {
		t.Fatal(err)
	}
}
