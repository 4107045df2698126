package health

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type Arith struct{}

type Args struct{ A, B int }
type Reply struct{ C int }

func (Arith) Mul(_ context.Context, a *Args, r *Reply) error { r.C = a.A * a.B; return nil }

// start serves s on loopback TCP and returns its address and a channel
// that receives Serve's result.
func start(t *testing.T, s *server.Server) (string, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("tcp", ln) }()
	<-s.Started
	return ln.Addr().String(), errc
}

func newServer(t *testing.T, opts ...server.OptionFn) (*server.Server, *Service) {
	t.Helper()
	s := server.NewServer(opts...)
	if err := s.RegisterName("Arith", Arith{}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := Register(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

func dial(t *testing.T, addr string, st protocol.SerializeType) *client.Client {
	t.Helper()
	opt := client.DefaultOption
	opt.SerializeType = st
	c := client.NewClient(opt)
	if err := c.Connect("tcp", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCheckAndList(t *testing.T) {
	s, h := newServer(t)
	if st := h.Status(""); st != NotServing {
		t.Fatalf("before Serve: %s, want NOT_SERVING", st)
	}
	addr, errc := start(t, s)
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	for _, st := range []protocol.SerializeType{protocol.MsgPack, protocol.JSON} {
		c := dial(t, addr, st)
		cases := map[string]Status{"": Serving, "Arith": Serving, "Health": Serving, "Nope": ServiceUnknown}
		for svc, want := range cases {
			var r CheckResponse
			if err := c.Call(t.Context(), ServiceName, "Check", &CheckRequest{Service: svc}, &r); err != nil {
				t.Fatal(err)
			}
			if r.Status != want {
				t.Fatalf("codec %v: Check(%q) = %s, want %s", st, svc, r.Status, want)
			}
		}
		h.SetServingStatus("Arith", NotServing)
		var l ListResponse
		if err := c.Call(t.Context(), ServiceName, "List", &ListRequest{}, &l); err != nil {
			t.Fatal(err)
		}
		if l.Statuses[""] != Serving || l.Statuses["Arith"] != NotServing || l.Statuses["Health"] != Serving || len(l.Statuses) != 3 {
			t.Fatalf("List = %v", l.Statuses)
		}
		h.SetServingStatus("Arith", Serving)
	}
	got, err := CheckServer(t.Context(), "tcp", addr, "")
	if err != nil || got != Serving {
		t.Fatalf("CheckServer = %s, %v", got, err)
	}
	s.SetReady(false)
	if got, err = CheckServer(t.Context(), "tcp", addr, "Arith"); err != nil || got != NotServing {
		t.Fatalf("CheckServer after SetReady(false) = %s, %v", got, err)
	}
}

// Watch streams changes: a service override, then Shutdown.
func TestWatch(t *testing.T) {
	s, h := newServer(t, server.WithShutdownDelay(200*time.Millisecond))
	addr, errc := start(t, s)
	c := dial(t, addr, protocol.MsgPack)
	var r CheckResponse
	if err := c.Call(t.Context(), ServiceName, "Watch", &CheckRequest{Service: "Arith"}, &r); err != nil || r.Status != Serving {
		t.Fatalf("first Watch = %s, %v", r.Status, err)
	}
	call := c.Go(t.Context(), ServiceName, "Watch", &CheckRequest{Service: "Arith", Last: Serving}, &r, nil)
	select {
	case <-call.Done:
		t.Fatalf("Watch returned without a change: %v %s", call.Error, r.Status)
	case <-time.After(100 * time.Millisecond): // a window in which nothing must happen
	}
	h.SetServingStatus("Arith", NotServing)
	if <-call.Done; call.Error != nil || r.Status != NotServing {
		t.Fatalf("Watch after SetServingStatus = %s, %v", r.Status, call.Error)
	}
	h.SetServingStatus("Arith", Serving)
	var whole CheckResponse
	call = c.Go(t.Context(), ServiceName, "Watch", &CheckRequest{Last: Serving}, &whole, nil)
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	if <-call.Done; call.Error != nil || whole.Status != NotServing {
		t.Fatalf("Watch during Shutdown = %s, %v", whole.Status, call.Error)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Shutdown held up")
	}
	if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("serve: %v", err)
	}
}

func TestRegisterNil(t *testing.T) {
	if _, err := Register(nil); !errors.Is(err, ErrNilServer) {
		t.Fatalf("Register(nil) = %v", err)
	}
}

// A Watch with nothing to report answers the unchanged status before the
// caller's deadline instead of letting it expire.
func TestWatchAnswersBeforeDeadline(t *testing.T) {
	s, _ := newServer(t)
	addr, errc := start(t, s)
	t.Cleanup(func() {
		s.Close()
		<-errc
	})
	c := dial(t, addr, protocol.MsgPack)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	begin := time.Now()
	var r CheckResponse
	if err := c.Call(ctx, ServiceName, "Watch", &CheckRequest{Last: Serving}, &r); err != nil || r.Status != Serving {
		t.Fatalf("Watch = %s, %v; want the unchanged SERVING before the deadline", r.Status, err)
	}
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Fatalf("Watch answered after %v without a change: it did not wait", d)
	}
}
