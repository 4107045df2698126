package cross

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	creflection "github.com/courier-rpc/courier/reflection"
	cserver "github.com/courier-rpc/courier/server"
	rprotocol "github.com/smallnest/rpcx/protocol"
	rreflection "github.com/smallnest/rpcx/reflection"
	rserver "github.com/smallnest/rpcx/server"
)

// Shape types cover what rpcx's reflection text infers from a zero value:
// numbers, strings, bools, times, nil slices/maps/pointers, nested and
// embedded structs, tags that rename, omit or quote a field, arrays.
type Inner struct {
	X float64
	Y string `json:"y_name"`
}

type Base struct{ ID int64 }

type ShapeArgs struct {
	Base
	UserID  string `json:"user_id"`
	HTTPURL string
	Ok      bool
	Count   uint8
	Ratio   float32
	When    time.Time
	List    []string
	Pairs   map[string]int
	Ptr     *Inner
	In      Inner
	Fixed   [2]int
	Quoted  int    `json:",string"`
	Skip    string `json:"-"`
	Empty   string `json:"empty,omitempty"`
	Any     any
	private int
}

type ShapeReply struct {
	Items []Inner
	Sub   struct{ Z bool }
}

// Shapes is a service whose methods take every kind of argument rpcx's
// reflection accepts: pointer or value args, builtin and named types.
type Shapes struct{}

func (Shapes) Make(ctx context.Context, a *ShapeArgs, r *ShapeReply) error        { return nil }
func (Shapes) ByValue(ctx context.Context, a Inner, r *Inner) error               { return nil }
func (Shapes) Text(ctx context.Context, a string, r *string) error                { return nil }
func (Shapes) Num(ctx context.Context, a *int, r *float64) error                  { return nil }
func (Shapes) Bytes(ctx context.Context, a []byte, r *[]byte) error               { return nil }
func (Shapes) Flag(ctx context.Context, a bool, r *bool) error                    { return nil }
func (Shapes) Map(ctx context.Context, a map[string]int, r *map[string]int) error { return nil }

// Odd has methods rpcx's reflection skips (reply not a pointer, two
// results, unexported, no context) besides one it describes. courier's
// server refuses to register it, so it is only described in process.
type Odd struct{}

func (Odd) Fine(ctx context.Context, a *Inner, r *Inner) error       { return nil }
func (Odd) NoPtr(ctx context.Context, a *Inner, r Inner) error       { return nil }
func (Odd) Two(ctx context.Context, a *Inner, r *Inner) (int, error) { return 0, nil }
func (Odd) hidden(ctx context.Context, a *Inner, r *Inner) error     { return nil } //nolint:unused // skipped by both
func (Odd) NoCtx(ctx int, a *Inner, r *Inner) error                  { return nil }

// reflectionServices are registered on both kinds of reflection.
var reflectionServices = []struct {
	name string
	rcvr func() any
}{
	{"Shapes", func() any { return Shapes{} }},
	{"PtrShapes", func() any { return &Shapes{} }},
	{"Odd", func() any { return Odd{} }},
	{"Arith", func() any { return testsvc.NewArith(testsvc.CourierMeta) }},
}

// TestReflectionTextMatchesRpcx: courier's GetService and GetServices
// return rpcx v1.9.1's text for the same services, in process.
func TestReflectionTextMatchesRpcx(t *testing.T) {
	r, c := rreflection.New(), creflection.New()
	for _, s := range reflectionServices {
		if err := r.Register(s.name, s.rcvr(), ""); err != nil {
			t.Fatal(err)
		}
		if err := c.Register(s.name, s.rcvr(), ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, s := range reflectionServices {
		var want, got string
		if err := r.GetService(ctx, s.name, &want); err != nil {
			t.Fatal(err)
		}
		if err := c.GetService(ctx, s.name, &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: courier text\n%s\nrpcx text\n%s", s.name, got, want)
		}
	}
	var want, got string
	if err := r.GetServices(ctx, "", &want); err != nil {
		t.Fatal(err)
	}
	if err := c.GetServices(ctx, "", &got); err != nil {
		t.Fatal(err)
	}
	// rpcx walks a map, so the package clause it keeps and the order of the
	// services vary: compare the texts as sets of service blocks without
	// package clauses.
	if gb, wb := serviceBlocks(got), serviceBlocks(want); !sameBlocks(gb, wb) {
		t.Errorf("GetServices blocks differ:\ncourier %q\nrpcx    %q", gb, wb)
	}
	var e1, e2 string
	if err := rreflection.New().GetServices(ctx, "", &e1); err != nil {
		t.Fatal(err)
	}
	if err := creflection.New().GetServices(ctx, "", &e2); err != nil || e1 != e2 {
		t.Errorf("empty GetServices: courier %q, rpcx %q (%v)", e2, e1, err)
	}
}

// serviceBlocks splits a GetServices text at each service's struct line.
func serviceBlocks(text string) []string {
	var lines []string
	for _, l := range strings.SplitAfter(text, "\n") {
		if !strings.HasPrefix(l, "package ") {
			lines = append(lines, l)
		}
	}
	text = strings.Join(lines, "")
	var out []string
	for _, part := range strings.Split(text, "\ntype ") {
		if strings.Contains(strings.SplitN(part, "\n", 2)[0], " struct{}") {
			out = append(out, part)
		} else if len(out) > 0 {
			out[len(out)-1] += "\ntype " + part
		} else {
			out = append(out, part)
		}
	}
	return out
}

func sameBlocks(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[strings.TrimRight(s, "\n")]++
	}
	for _, s := range b {
		seen[strings.TrimRight(s, "\n")]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestReflectionOverTheWire: an rpcx client reads a courier server's
// reflection text, and a courier client an rpcx server's; both equal the
// text rpcx's reflection gives in process.
func TestReflectionOverTheWire(t *testing.T) {
	local := rreflection.New()
	if err := local.Register("Shapes", Shapes{}, ""); err != nil {
		t.Fatal(err)
	}
	var want string
	if err := local.GetService(context.Background(), "Shapes", &want); err != nil {
		t.Fatal(err)
	}
	t.Run("rpcx-client/courier-server", func(t *testing.T) {
		cs := cserver.NewServer()
		cr := creflection.New()
		cs.Plugins.Add(cr)
		if err := cs.RegisterName("Shapes", Shapes{}, ""); err != nil {
			t.Fatal(err)
		}
		if err := cs.RegisterName("Reflection", cr, ""); err != nil {
			t.Fatal(err)
		}
		addr := serveCourier(t, cs)
		xc := newRpcxXClient(t, "Reflection", addr, rpcxOption(byte(rprotocol.JSON), false))
		var got string
		if err := xc.Call(ctxTimeout(t), "GetService", "Shapes", &got); err != nil || got != want {
			t.Fatalf("courier server text = %q, %v; want %q", got, err, want)
		}
	})
	t.Run("courier-client/rpcx-server", func(t *testing.T) {
		rs := rserver.NewServer()
		rr := rreflection.New()
		rs.Plugins.Add(rr)
		if err := rs.RegisterName("Shapes", Shapes{}, ""); err != nil {
			t.Fatal(err)
		}
		if err := rs.RegisterName("Reflection", rr, ""); err != nil {
			t.Fatal(err)
		}
		addr := serveRpcx(t, rs)
		xc := newCourierXClient(t, "Reflection", addr, courierOption(byte(rprotocol.JSON), false))
		var got string
		if err := xc.Call(ctxTimeout(t), "GetService", "Shapes", &got); err != nil || got != want {
			t.Fatalf("rpcx server text = %q, %v; want %q", got, err, want)
		}
	})
}

// serveCourier serves s on a loopback port until the test ends.
func serveCourier(t *testing.T, s *cserver.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.ServeListener("tcp", ln) }()
	<-s.Started
	t.Cleanup(func() { _ = s.Close(); <-done })
	return ln.Addr().String()
}

// serveRpcx serves s on a loopback port until the test ends.
func serveRpcx(t *testing.T, s *rserver.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.ServeListener("tcp", ln) }()
	<-s.Started
	t.Cleanup(func() { _ = s.Close(); <-done })
	return ln.Addr().String()
}
