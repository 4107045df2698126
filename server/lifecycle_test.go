package server

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util/memconn"
)

// blocker is a handler that signals entry and waits for release.
type blocker struct {
	entered chan struct{}
	release chan struct{}
}

func newBlocker(n int) *blocker {
	return &blocker{entered: make(chan struct{}, n), release: make(chan struct{})}
}

func (b *blocker) handle(ctx context.Context, req *[]byte, res *[]byte) error {
	b.entered <- struct{}{}
	<-b.release
	*res = append([]byte("done:"), *req...)
	return nil
}

// Scenario 10: graceful shutdown with 50 in-flight requests.
func TestShutdownGraceful(t *testing.T) {
	const conns, perConn = 5, 10
	s := NewServer()
	b := newBlocker(conns * perConn)
	if err := Handle(s, "S", "Block", b.handle); err != nil {
		t.Fatal(err)
	}
	var hooks atomic.Int32
	s.RegisterOnShutdown(func(*Server) { hooks.Add(1) })
	addr := testServer(t, s)
	idle := dialRaw(t, addr) // never sends a frame
	clients := make([]*rawClient, conns)
	for i := range clients {
		clients[i] = dialRaw(t, addr)
		for j := range perConn {
			clients[i].send(newReq("S", "Block", protocol.SerializeNone, []byte(strconv.Itoa(i*perConn+j)), nil))
		}
	}
	for range conns * perConn {
		<-b.entered
	}
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownErr <- s.Shutdown(ctx)
	}()
	for _, c := range clients {
		m := c.read()
		if m.Seq() != share.DrainSeq || !m.IsHeartbeat() || m.MessageType() != protocol.Response || m.Metadata[share.DrainKey] != "1" {
			t.Fatalf("first frame is not the drain notice: %s", m)
		}
	}
	// A request after shutdown began is refused with the drain error.
	late := clients[0].send(newReq("S", "Block", protocol.SerializeNone, []byte("late"), nil))
	m := clients[0].read()
	if m.Seq() != late || errText(m) != "server is shutting down" ||
		m.Metadata[share.ErrorCodeKey] != strconv.Itoa(int(share.CodeUnavailable)) || m.Metadata[share.DrainKey] != "1" {
		t.Fatalf("late request answered with %s", m)
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	default:
	}
	close(b.release)
	for i, c := range clients {
		got := map[string]bool{}
		for range perConn {
			m := c.read()
			if errText(m) != "" {
				t.Fatalf("in-flight request failed: %s", errText(m))
			}
			got[string(m.Payload)] = true
		}
		for j := range perConn {
			if !got["done:"+strconv.Itoa(i*perConn+j)] {
				t.Fatalf("conn %d: reply %d missing: %v", i, j, got)
			}
		}
		c.expectClosed()
	}
	idle.expectClosed()
	if err := <-shutdownErr; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	s.Close()
	if n := hooks.Load(); n != 1 {
		t.Fatalf("shutdown hooks ran %d times", n)
	}
}

// Scenario 13: hooks run exactly once; Serve returns ErrServerClosed.
func TestShutdownHooksOnceAndServeClosed(t *testing.T) {
	for _, how := range []string{"shutdown", "close", "both-concurrently"} {
		t.Run(how, func(t *testing.T) {
			s := NewServer()
			var hooks atomic.Int32
			s.RegisterOnShutdown(func(*Server) { hooks.Add(1) })
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- s.ServeListener("tcp", ln) }()
			<-s.Started
			switch how {
			case "shutdown":
				if err := s.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
			case "close":
				s.Close()
			default:
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(2)
					go func() { defer wg.Done(); _ = s.Shutdown(context.Background()) }()
					go func() { defer wg.Done(); s.Close() }()
				}
				wg.Wait()
			}
			if err := <-errc; !errors.Is(err, ErrServerClosed) {
				t.Fatalf("Serve returned %v", err)
			}
			s.Close()
			_ = s.Shutdown(context.Background())
			if n := hooks.Load(); n != 1 {
				t.Fatalf("hooks ran %d times", n)
			}
			if err := s.Serve("tcp", "127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
				t.Fatalf("Serve after close: %v", err)
			}
		})
	}
}

// Scenario 14: Shutdown force-closes at its deadline.
func TestShutdownForceAtDeadline(t *testing.T) {
	s := NewServer()
	b := newBlocker(1)
	if err := Handle(s, "S", "Ignore", b.handle); err != nil {
		t.Fatal(err)
	}
	cancelled := make(chan error, 1)
	if err := Handle(s, "S", "Watch", func(ctx context.Context, req *[]byte, res *[]byte) error {
		b.entered <- struct{}{}
		<-ctx.Done()
		cancelled <- ctx.Err()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	defer close(b.release)
	c := dialRaw(t, testServer(t, s))
	c.send(newReq("S", "Ignore", protocol.SerializeNone, nil, nil))
	c.send(newReq("S", "Watch", protocol.SerializeNone, nil, nil))
	<-b.entered
	<-b.entered
	const grace = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if took > grace+2*time.Second { // generous: the test machine is shared
		t.Fatalf("Shutdown took %v", took)
	}
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler ctx err %v", err)
	}
	if m := c.read(); m.Seq() != share.DrainSeq {
		t.Fatalf("expected drain notice, got %s", m)
	}
	c.expectClosed()
}

// Scenario 15: deadline propagation and the max-deadline cap.
func TestDeadlinePropagation(t *testing.T) {
	type seen struct {
		remaining time.Duration
		hasDL     bool
		doneAfter time.Duration
		err       error
	}
	seenc := make(chan seen, 1)
	s := NewServer(WithMaxDeadline(500 * time.Millisecond))
	if err := Handle(s, "D", "Wait", func(ctx context.Context, req *[]byte, res *[]byte) error {
		dl, ok := ctx.Deadline()
		v := seen{hasDL: ok}
		if ok {
			start := time.Now()
			v.remaining = time.Until(dl)
			<-ctx.Done()
			v.doneAfter = time.Since(start)
			v.err = ctx.Err()
		}
		seenc <- v
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	tests := []struct {
		name string
		meta map[string]string
		want time.Duration
	}{
		{"courier deadline", map[string]string{share.DeadlineKey: "300"}, 300 * time.Millisecond},
		{"rpcx server timeout", map[string]string{share.ServerTimeout: "200"}, 200 * time.Millisecond},
		{"capped", map[string]string{share.DeadlineKey: "3600000"}, 500 * time.Millisecond},
		{"none", nil, 0},
		{"garbage", map[string]string{share.DeadlineKey: "-5"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.call(newReq("D", "Wait", protocol.SerializeNone, nil, tt.meta))
			v := <-seenc
			if tt.want == 0 {
				if v.hasDL {
					t.Fatalf("unexpected deadline %v", v.remaining)
				}
				return
			}
			if !v.hasDL || v.remaining <= 0 || v.remaining > tt.want || v.remaining < tt.want/2 {
				t.Fatalf("remaining %v, want ≈%v", v.remaining, tt.want)
			}
			if !errors.Is(v.err, context.DeadlineExceeded) || v.doneAfter < v.remaining-20*time.Millisecond {
				t.Fatalf("ctx done after %v with %v", v.doneAfter, v.err)
			}
		})
	}
}

// Scenario 5: the client goes away while its handler runs; the late reply
// is dropped and the server keeps serving (TestMain checks for leaks).
func TestLateReplyAfterClientGone(t *testing.T) {
	s := NewServer()
	gone := make(chan error, 1)
	entered := make(chan struct{})
	if err := Handle(s, "S", "Slow", func(ctx context.Context, req *[]byte, res *[]byte) error {
		close(entered)
		<-ctx.Done() // cancelled when the connection closes
		gone <- ctx.Err()
		*res = []byte("late")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := Handle(s, "S", "Echo", func(ctx context.Context, req *[]byte, res *[]byte) error {
		*res = *req
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	c := dialRaw(t, addr)
	c.send(newReq("S", "Slow", protocol.SerializeNone, nil, nil))
	<-entered
	c.conn.Close()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler ctx err %v", err)
	}
	waitFor(t, func() bool { return s.inflight.Load() == 0 })
	c2 := dialRaw(t, addr)
	if m := c2.call(newReq("S", "Echo", protocol.SerializeNone, []byte("ok"), nil)); string(m.Payload) != "ok" {
		t.Fatalf("second client got %q", m.Payload)
	}
}

func TestServeNetworks(t *testing.T) {
	for _, network := range []string{"memu", "unix", "tcp4"} {
		t.Run(network, func(t *testing.T) {
			s := NewServer()
			if err := s.Register(new(Arith), ""); err != nil {
				t.Fatal(err)
			}
			addr := map[string]string{"memu": "server-test-" + t.Name(), "unix": t.TempDir() + "/s.sock", "tcp4": "127.0.0.1:0"}[network]
			errc := make(chan error, 1)
			go func() { errc <- s.Serve(network, addr) }()
			<-s.Started
			var nc net.Conn
			var err error
			if network == "memu" {
				nc, err = memconn.Dial(addr)
			} else {
				nc, err = net.Dial(s.Address().Network(), s.Address().String())
			}
			if err != nil {
				t.Fatal(err)
			}
			c := &rawClient{t: t, conn: nc, br: newReader(nc)}
			if m := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":4,"B":5}`), nil)); string(m.Payload) != `{"C":20}` {
				t.Fatalf("got %q %s", m.Payload, errText(m))
			}
			if n := len(s.ActiveClientConn()); n != 1 {
				t.Fatalf("%d active conns", n)
			}
			nc.Close()
			s.Close()
			if err := <-errc; !errors.Is(err, ErrServerClosed) {
				t.Fatalf("Serve: %v", err)
			}
		})
	}
	if err := NewServer().Serve("nope", "x"); !errors.Is(err, ErrUnsupportedNetwork) {
		t.Fatalf("unknown network: %v", err)
	}
}
