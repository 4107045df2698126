package roundtrippb

import (
	"context"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
	"google.golang.org/protobuf/proto"
)

// echo implements EchoServer and CounterServer.
type echo struct{}

func (echo) Echo(_ context.Context, in, out *Scalars) error {
	proto.Merge(out, in)
	return nil
}

func (echo) Fail(_ context.Context, in *Inner, _ *Empty) error {
	return share.NewError(share.CodeFailedPrecondition, in.GetName())
}

// Add sums the values and answers the request metadata key "who" as the
// name and in the response metadata key "seen".
func (echo) Add(ctx context.Context, in, out *Inner) error {
	var sum int32
	for _, v := range in.GetValues() {
		sum += v
	}
	md, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	if res, ok := ctx.Value(share.ResMetaDataKey).(map[string]string); ok {
		res["seen"] = md["who"]
	}
	out.Name, out.Values = md["who"], []int32{sum}
	return nil
}

func startServer(t *testing.T) string {
	t.Helper()
	s := server.NewServer()
	if err := RegisterEchoServer(s, echo{}); err != nil {
		t.Fatal(err)
	}
	if err := RegisterCounterServer(s, echo{}); err != nil {
		t.Fatal(err)
	}
	if err := RegisterEchoServer(s, echo{}); err == nil {
		t.Fatal("registering Echo twice succeeded")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeListener("tcp", ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// full sets every field of Scalars to a value other than its zero.
func full() *Scalars {
	inner := &Inner{Name: "inner ✓", Values: []int32{1, -2, math.MaxInt32}}
	return &Scalars{
		FDouble: math.Pi, FFloat: -1.5, FInt32: math.MinInt32, FInt64: math.MinInt64,
		FUint32: math.MaxUint32, FUint64: math.MaxUint64, FSint32: -7, FSint64: -1 << 40,
		FFixed32: 0xdeadbeef, FFixed64: 1 << 63, FSfixed32: -9, FSfixed64: -1 << 50,
		FBool: true, FString: "héllo\x00world", FBytes: []byte{0, 1, 0xff},
		FEnum: Color_COLOR_GREEN, FMessage: inner,
		FRepeated: []*Inner{inner, {Name: "second"}},
		FMap:      map[string]*Inner{"a": inner, "": {}},
		Choice:    &Scalars_ChoiceNumber{ChoiceNumber: 42},
		FOptional: proto.Int32(0),
		FPacked:   []float64{math.Inf(1), -0.0, 1e-300},
	}
}

func TestRoundTripConn(t *testing.T) {
	addr := startServer(t)
	ec, conn, err := DialEcho("tcp", addr, client.DefaultOption)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, in := range []*Scalars{full(), {}, {Choice: &Scalars_ChoiceText{ChoiceText: "text"}}} {
		out, err := ec.Echo(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(in, out) {
			t.Fatalf("round trip changed the message:\n in %v\nout %v", in, out)
		}
	}
	_, err = ec.Fail(t.Context(), &Inner{Name: "no such thing"})
	if err == nil || !strings.Contains(err.Error(), "no such thing") || share.CodeOf(err) != share.CodeFailedPrecondition {
		t.Fatalf("Fail: %v (code %v)", err, share.CodeOf(err))
	}
}

func TestRoundTripXClient(t *testing.T) {
	addr := startServer(t)
	d, err := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatal(err)
	}
	xc := NewCounterXClient(d, client.Failtry, client.RandomSelect, client.DefaultOption)
	defer xc.Close()
	cc := NewCounterClient(xc)
	res := map[string]string{}
	out, err := cc.Add(t.Context(), &Inner{Values: []int32{2, 3, 4}},
		client.WithCallMetadata(map[string]string{"who": "tester"}), client.WithResponseMetadata(res), client.WithCallTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if out.GetName() != "tester" || len(out.GetValues()) != 1 || out.GetValues()[0] != 9 || res["seen"] != "tester" {
		t.Fatalf("Add = %v, response metadata %v", out, res)
	}
	exc := NewEchoClient(NewEchoXClient(d, client.Failtry, client.RandomSelect, client.DefaultOption))
	in := full()
	got, err := exc.Echo(t.Context(), in, client.WithCallTimeout(-1))
	if err != nil || !proto.Equal(in, got) {
		t.Fatalf("Echo over XClient: %v, equal %v", err, proto.Equal(in, got))
	}
}

func TestCallTimeout(t *testing.T) {
	addr := startServer(t)
	cc, conn, err := DialCounter("tcp", addr, client.DefaultOption)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := cc.Add(ctx, &Inner{}, client.WithCallTimeout(time.Minute)); err == nil {
		t.Fatal("call with a cancelled context succeeded")
	}
}
