package client

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrors "github.com/courier-rpc/courier/errors"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

func TestFilterGroupAndState(t *testing.T) {
	f := newFakeNet(4)
	opt := DefaultOption
	opt.Group = "blue"
	pairs := f.pairs("group=blue", "group=blue&state=inactive", "group=red", "group=blue&weight=2")
	x, d := newFakeXClient(t, f, Failfast, RoundRobin, opt, pairs...)
	seen := map[int]int{}
	for i := 0; i < 40; i++ {
		var reply int
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
			t.Fatal(err)
		}
		seen[reply]++
	}
	if len(seen) != 2 || seen[0] != 20 || seen[3] != 20 {
		t.Fatalf("servers used %v, want 0 and 3 only", seen)
	}
	// Run-time change: server 0 turns inactive, server 1 active.
	d.Update(f.pairs("group=blue&state=inactive", "group=blue", "group=red", "group=blue"))
	pollUntil(t, 10*time.Second, "update", func() bool {
		s, _, _ := x.snapshot()
		_, ok := s[f.get(1).key]
		return ok
	})
	seen = map[int]int{}
	for i := 0; i < 40; i++ {
		var reply int
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
			t.Fatal(err)
		}
		seen[reply]++
	}
	if len(seen) != 2 || seen[1] != 20 || seen[3] != 20 {
		t.Fatalf("after update %v", seen)
	}
	// Nothing left: ErrXClientNoServer.
	d.Update(nil)
	pollUntil(t, 10*time.Second, "empty", func() bool { s, _, _ := x.snapshot(); return len(s) == 0 })
	var reply int
	if err := x.Call(t.Context(), "Mul", 1, &reply); !errors.Is(err, ErrXClientNoServer) {
		t.Fatalf("no servers: %v", err)
	}
	if err := x.Broadcast(t.Context(), "Mul", 1, &reply); !errors.Is(err, ErrXClientNoServer) {
		t.Fatalf("broadcast no servers: %v", err)
	}
}

func TestBroadcastForkInform(t *testing.T) {
	f := newFakeNet(3)
	x, _ := newFakeXClient(t, f, Failfast, RandomSelect, DefaultOption)
	var reply int
	reply = -1
	if err := x.Broadcast(t.Context(), "Mul", 1, &reply); err != nil || reply < 0 {
		t.Fatalf("broadcast: %v %d", err, reply)
	}
	for i := 0; i < 3; i++ {
		if f.get(i).hits.Load() != 1 {
			t.Fatalf("server %d not called once", i)
		}
	}
	f.get(1).setBehaviour(serviceFailure)
	f.get(2).setBehaviour(closeMidCall)
	err := x.Broadcast(t.Context(), "Mul", 1, &reply)
	var me *cerrors.MultiError
	if !errors.As(err, &me) || len(me.Errors) != 2 || !errors.Is(err, ErrShutdown) {
		t.Fatalf("broadcast errors: %v", err)
	}
	receipts, err := x.Inform(t.Context(), "Mul", 1, &reply)
	if err == nil || len(receipts) != 3 {
		t.Fatalf("inform: %v %v", receipts, err)
	}
	if receipts[0].Error != nil || *(receipts[0].Reply.(*int)) != 0 || receipts[1].Error == nil || receipts[0].Address != f.get(0).key {
		t.Fatalf("receipts %+v", receipts)
	}
	// Fork: the fast server wins, the hanging one is cancelled.
	cancelled := make(chan struct{})
	f.get(0).setBehaviour(func(ctx context.Context, c *fakeClient, m string, a, r interface{}) error {
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	})
	f.get(1).setBehaviour(slow(5 * time.Millisecond))
	reply = -1
	if err := x.Fork(t.Context(), "Mul", 1, &reply); err != nil || reply != 1 {
		t.Fatalf("fork: %v %d", err, reply)
	}
	<-cancelled
	f.get(1).setBehaviour(serviceFailure)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	f.get(0).setBehaviour(hang)
	if err := x.Fork(ctx, "Mul", 1, &reply); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fork all failing: %v", err)
	}
}

type recordingPlugin struct {
	mu     sync.Mutex
	pre    []string
	post   []error
	wraps  atomic.Int64
	failPC bool
}

func (p *recordingPlugin) PreCall(ctx context.Context, sp, sm string, args interface{}) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pre = append(p.pre, sp+"."+sm)
	if p.failPC {
		return errors.New("denied by plugin")
	}
	return nil
}

func (p *recordingPlugin) PostCall(ctx context.Context, sp, sm string, args, reply interface{}, err error) error {
	p.mu.Lock()
	p.post = append(p.post, err)
	p.mu.Unlock()
	return nil
}

func (p *recordingPlugin) WrapSelect(fn SelectFunc) SelectFunc {
	return func(ctx context.Context, sp, sm string, args interface{}) string {
		p.wraps.Add(1)
		return fn(ctx, sp, sm, args)
	}
}

func TestPluginsAndAuth(t *testing.T) {
	f := newFakeNet(1)
	x, _ := newFakeXClient(t, f, Failover, RandomSelect, DefaultOption)
	p := &recordingPlugin{}
	pc := NewPluginContainer()
	pc.Add(p)
	x.SetPlugins(pc)
	if x.GetPlugins() != pc {
		t.Fatal("GetPlugins")
	}
	x.Auth("s3cret")
	md := map[string]string{"k": "v"}
	ctx := context.WithValue(t.Context(), share.ReqMetaDataKey, md)
	var reply int
	if err := x.Call(ctx, "Mul", 1, &reply); err != nil {
		t.Fatal(err)
	}
	if len(md) != 1 {
		t.Fatal("caller's metadata map modified")
	}
	s := f.get(0)
	s.mu.Lock()
	got := s.lastMeta
	s.mu.Unlock()
	if got[share.AuthKey] != "s3cret" || got["k"] != "v" {
		t.Fatalf("server saw %v", got)
	}
	p.failPC = true
	if err := x.Call(ctx, "Mul", 1, &reply); err == nil || err.Error() != "denied by plugin" {
		t.Fatalf("precall error: %v", err)
	}
	if len(p.pre) != 2 || len(p.post) != 1 || p.wraps.Load() == 0 {
		t.Fatalf("pre %v post %v wraps %d", p.pre, p.post, p.wraps.Load())
	}
	x.SetPlugins(nil)
	if x.GetPlugins() == nil {
		t.Fatal("nil plugins")
	}
}

type firstSelector struct{ servers atomic.Pointer[[]string] }

func (s *firstSelector) Select(ctx context.Context, sp, sm string, args interface{}) string {
	if p := s.servers.Load(); p != nil && len(*p) > 0 {
		return (*p)[0]
	}
	return ""
}
func (s *firstSelector) UpdateServer(m map[string]string) {
	k := sortedKeys(m)
	s.servers.Store(&k)
}

func TestSelectByUserAndGeo(t *testing.T) {
	f := newFakeNet(3)
	x, _ := newFakeXClient(t, f, Failfast, SelectByUser, DefaultOption)
	var reply int
	if err := x.Call(t.Context(), "Mul", 1, &reply); !errors.Is(err, ErrXClientNoServer) {
		t.Fatalf("without selector: %v", err)
	}
	x.SetSelector(&firstSelector{})
	for i := 0; i < 5; i++ {
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil || reply != 0 {
			t.Fatalf("custom selector: %v %d", err, reply)
		}
	}
	g, _ := newFakeXClient(t, f, Failfast, Closest, DefaultOption,
		f.pairs("latitude=31.23&longitude=121.47", "latitude=37.39&longitude=-122.08", "")...)
	g.ConfigGeoSelector(37.77, -122.42)
	if err := g.Call(t.Context(), "Mul", 1, &reply); err != nil || reply != 1 {
		t.Fatalf("geo: %v %d", err, reply)
	}
	x.ConfigGeoSelector(39.9, 116.4) // replaces the custom selector
	if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
		t.Fatal(err)
	}
}

func TestSticky(t *testing.T) {
	f := newFakeNet(3)
	opt := DefaultOption
	opt.Sticky = true
	x, _ := newFakeXClient(t, f, Failover, RoundRobin, opt)
	var first int
	if err := x.Call(t.Context(), "Mul", 1, &first); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		var reply int
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil || reply != first {
			t.Fatalf("sticky moved to %d from %d (%v)", reply, first, err)
		}
	}
	f.get(first).setBehaviour(closeMidCall)
	var moved int
	if err := x.Call(t.Context(), "Mul", 1, &moved); err != nil || moved == first {
		t.Fatalf("failover from sticky: %v %d", err, moved)
	}
}

func TestGoOneshotSendRawClose(t *testing.T) {
	f := newFakeNet(2)
	x, _ := newFakeXClient(t, f, Failover, RoundRobin, DefaultOption)
	if _, err := x.Go(t.Context(), "Mul", 1, nil, make(chan *Call)); !errors.Is(err, ErrUnbufferedDone) {
		t.Fatalf("unbuffered done: %v", err)
	}
	var reply int
	call, err := x.Go(t.Context(), "Mul", 1, &reply, make(chan *Call, 1))
	if err != nil {
		t.Fatal(err)
	}
	if c := <-call.Done; c.Error != nil || c.Reply != &reply {
		t.Fatalf("go: %v", c.Error)
	}
	if err := x.Oneshot(t.Context(), "Notify", 1); err != nil {
		t.Fatal(err)
	}
	x.option.SerializeType = 15
	if err := x.Oneshot(t.Context(), "Notify", 1); !errors.Is(err, ErrUnsupportedCodec) {
		t.Fatalf("oneshot bad codec: %v", err)
	}
	m := protocol.NewMessage()
	m.ServicePath, m.ServiceMethod, m.Payload = "Arith", "Raw", []byte("hi")
	meta, payload, err := x.SendRaw(t.Context(), m)
	if err != nil || string(payload) != "hi" || meta["server"] == "" {
		t.Fatalf("sendraw: %v %q %v", meta, payload, err)
	}
	if _, _, err := x.SendRaw(t.Context(), nil); !errors.Is(err, ErrNilMessage) {
		t.Fatalf("nil message: %v", err)
	}
	for _, err := range []error{
		x.SendFile(t.Context(), "f", 0, nil),
		x.DownloadFile(t.Context(), "f", nil, nil),
		func() error { _, err := x.Stream(t.Context(), nil); return err }(),
	} {
		if err == nil {
			t.Fatalf("stream/file: %v", err)
		}
	}
	x.Close()
	x.Close()
	if err := x.Call(t.Context(), "Mul", 1, &reply); !errors.Is(err, ErrXClientShutdown) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := x.Go(t.Context(), "Mul", 1, &reply, nil); !errors.Is(err, ErrXClientShutdown) {
		t.Fatalf("go after close: %v", err)
	}
	for i := 0; i < 2; i++ {
		s := f.get(i)
		s.mu.Lock()
		for _, c := range s.clients {
			if !c.shutdown.Load() {
				t.Errorf("server %d: connection open after Close", i)
			}
		}
		s.mu.Unlock()
	}
}

// TestPluginCallback is scenario 23: a ClientConnected hook that calls
// Broadcast on the same XClient completes without deadlock.
func TestPluginCallback(t *testing.T) {
	f := newFakeNet(2)
	x, _ := newFakeXClient(t, f, Failover, RoundRobin, DefaultOption)
	errs := make(chan error, 2)
	pc := NewPluginContainer()
	pc.Add(clientConnectedFunc(func() {
		var reply int
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		errs <- x.Broadcast(ctx, "Mul", 1, &reply)
	}))
	x.SetPlugins(pc)
	var reply int
	done := make(chan error, 1)
	go func() { done <- x.Call(t.Context(), "Mul", 1, &reply) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("deadlock: call blocked by a reentrant plugin")
	}
	// Each of the two dials ran the hook; no Broadcast may hang.
	for i := 0; i < 2; i++ {
		select {
		case <-errs:
		case <-time.After(time.Second):
			t.Fatal("reentrant broadcast did not complete within 1s")
		}
	}
}

type clientConnectedFunc func()

func (f clientConnectedFunc) ClientConnected(c net.Conn) (net.Conn, error) {
	f()
	return c, nil
}

// TestSharedDiscovery is scenario 22: 100 XClients created concurrently
// over one discovery while it emits updates, race-free, and all closed.
func TestSharedDiscovery(t *testing.T) {
	f := newFakeNet(4)
	d, _ := NewMultipleServersDiscovery(f.pairs())
	defer d.Close()
	stop := make(chan struct{})
	var updates sync.WaitGroup
	updates.Add(1)
	go func() {
		defer updates.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			all := f.pairs()
			d.Update(all[:1+i%len(all)])
			time.Sleep(time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	xs := make([]*xClient, 100)
	for i := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			xs[i] = newXClient("Arith", Failover, SelectMode(i%6), d, DefaultOption, nil, f.factory())
			var reply int
			_ = xs[i].Call(t.Context(), "Mul", i, &reply)
		}()
	}
	wg.Wait()
	close(stop)
	updates.Wait()
	for _, x := range xs {
		x.Close()
	}
}
