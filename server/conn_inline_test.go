package server

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
)

// latch has a method that blocks until another method of the same service
// is called: on one connection that works only if the connection is still
// read while Wait runs.
type latch struct{ ch chan struct{} }

func (l *latch) Wait(ctx context.Context, args *Args, reply *Reply) error {
	select {
	case <-l.ch:
		reply.C = 1
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (l *latch) Open(ctx context.Context, args *Args, reply *Reply) error {
	close(l.ch)
	return nil
}

func (l *latch) Fast(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A
	return nil
}

func newLatchServer(t *testing.T, opts ...OptionFn) (*Server, *rawClient, *latch) {
	t.Helper()
	s := NewServer(opts...)
	l := &latch{ch: make(chan struct{})}
	if err := s.RegisterName("Latch", l, ""); err != nil {
		t.Fatal(err)
	}
	return s, dialRaw(t, testServer(t, s)), l
}

func latchReq(method string, a int) *protocol.Message {
	p, _ := json.Marshal(Args{A: a})
	return newReq("Latch", method, protocol.JSON, p, nil)
}

// A handler that blocks until a later request on the same connection
// arrives must not block that request, inline or not.
func TestInlineHandlerDoesNotBlockConnection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []OptionFn
		takeovers bool
	}{
		{"default", nil, true},
		{"inline off", []OptionFn{WithInlineGrace(0)}, false},
		{"bounded pool", []OptionFn{WithPool(4, 10)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rc, _ := newLatchServer(t, tc.opts...)
			waitSeq := rc.send(latchReq("Wait", 0))
			if tc.takeovers {
				// Wait arrived alone, so it runs inline and blocks the
				// reader until another goroutine takes over reading.
				waitFor(t, func() bool { return s.Stats().ReaderTakeovers == 1 })
			}
			// Fast calls answered while Wait blocks.
			for i := range 3 {
				res := rc.call(latchReq("Fast", i+1))
				var r Reply
				if err := json.Unmarshal(res.Payload, &r); err != nil || r.C != i+1 {
					t.Fatalf("Fast(%d) = %d, %v", i+1, r.C, err)
				}
			}
			openSeq := rc.send(latchReq("Open", 0))
			got := map[uint64]bool{}
			for range 2 {
				got[rc.read().Seq()] = true
			}
			if !got[waitSeq] || !got[openSeq] {
				t.Fatalf("responses %v, want seqs %d and %d", got, waitSeq, openSeq)
			}
			if n := s.Stats().ReaderTakeovers; (n > 0) != tc.takeovers {
				t.Fatalf("%d reader takeovers, want takeovers=%v", n, tc.takeovers)
			}
		})
	}
}

// slowSvc sleeps: every call outlives the grace period.
type slowSvc struct{}

func (slowSvc) Sleep(ctx context.Context, args *Args, reply *Reply) error {
	time.Sleep(time.Duration(args.A) * time.Millisecond)
	reply.C = args.B
	return nil
}

// Many takeovers in a row on one connection (the method's calls are let
// back on the reader after each): every call answered in order of sending,
// and closing the connection and then the server leaves no goroutine
// behind (TestMain checks).
func TestInlineTakeoverChain(t *testing.T) {
	s := NewServer(WithInlineGrace(50 * time.Microsecond))
	if err := s.RegisterName("Slow", slowSvc{}, ""); err != nil {
		t.Fatal(err)
	}
	m := s.loadRegistry().lookup("Slow", "Sleep")
	rc := dialRaw(t, testServer(t, s))
	for i := range 20 {
		m.offReader.Store(0)
		p, _ := json.Marshal(Args{A: 5, B: i})
		res := rc.call(newReq("Slow", "Sleep", protocol.JSON, p, nil))
		var r Reply
		if err := json.Unmarshal(res.Payload, &r); err != nil || r.C != i {
			t.Fatalf("call %d: reply %d, %v", i, r.C, err)
		}
	}
	// Each call outlives the grace period by far, but a loaded machine
	// may fire a timer late, after the call: not every call is taken over.
	if n := s.Stats().ReaderTakeovers; n == 0 || n > 20 {
		t.Fatalf("%d reader takeovers for 20 slow calls, want 1..20", n)
	}
	rc.conn.Close()
	waitFor(t, func() bool { return s.Stats().ConnsClosed == 1 })
}

// After a takeover the method's next calls run on pool workers.
func TestInlineSlowMethodMovesOffReader(t *testing.T) {
	s := NewServer(WithInlineGrace(50 * time.Microsecond))
	if err := s.RegisterName("Slow", slowSvc{}, ""); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, testServer(t, s))
	for i := range 10 {
		p, _ := json.Marshal(Args{A: 5, B: i})
		rc.call(newReq("Slow", "Sleep", protocol.JSON, p, nil))
	}
	if n := s.Stats().ReaderTakeovers; n != 1 {
		t.Fatalf("%d reader takeovers for 10 slow calls, want 1", n)
	}
	m := s.loadRegistry().lookup("Slow", "Sleep")
	if left := m.offReader.Load(); left <= 0 || left >= offReaderCalls {
		t.Fatalf("offReader = %d after the takeover and later calls", left)
	}
}

// Shutdown while a taken-over handler runs: the call completes and its
// response is delivered before the connection closes.
func TestInlineTakeoverShutdown(t *testing.T) {
	s := NewServer(WithInlineGrace(50 * time.Microsecond))
	if err := s.RegisterName("Slow", slowSvc{}, ""); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, testServer(t, s))
	p, _ := json.Marshal(Args{A: 200, B: 7})
	seq := rc.send(newReq("Slow", "Sleep", protocol.JSON, p, nil))
	waitFor(t, func() bool { return s.Stats().ReaderTakeovers == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Shutdown(ctx) }()
	for {
		res := rc.read()
		if res.Seq() != seq {
			continue // the drain notice
		}
		var r Reply
		if err := json.Unmarshal(res.Payload, &r); err != nil || r.C != 7 {
			t.Fatalf("reply %d, %v", r.C, err)
		}
		break
	}
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// An idle connection holds one goroutine, its reader: replies are written
// inline or by flushes on pool workers, not by a writer per connection.
func TestIdleConnectionOneGoroutine(t *testing.T) {
	_, addr := newArithServer(t)
	base := runtime.NumGoroutine()
	const n = 20
	for i := range n {
		rc := dialRaw(t, addr)
		p, _ := json.Marshal(Args{A: i, B: 2})
		if res := rc.call(newReq("Arith", "Mul", protocol.JSON, p, nil)); res.MessageStatusType() == protocol.Error {
			t.Fatalf("call %d failed", i)
		}
	}
	// A few pool workers and the pool's janitor may be parked too.
	if extra := runtime.NumGoroutine() - base; extra > n+4 {
		t.Fatalf("%d goroutines for %d idle connections", extra, n)
	}
}

// hold blocks until released, telling when it started.
type hold struct{ started, release chan struct{} }

func (h *hold) Hold(ctx context.Context, args *Args, reply *Reply) error {
	h.started <- struct{}{}
	<-h.release
	reply.C = args.A
	return nil
}

// A slow handler that returns while the reader that took over from it runs
// a handler inline itself must not become a second reader (the race
// detector sees two readers of one bufio.Reader).
func TestInlineTakenOverHandlerStaysOut(t *testing.T) {
	s := NewServer(WithInlineGrace(20 * time.Millisecond))
	l := &latch{ch: make(chan struct{})}
	h := &hold{started: make(chan struct{}, 1), release: make(chan struct{})}
	if err := s.RegisterName("Latch", l, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterName("Hold", h, ""); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, testServer(t, s))
	waitSeq := rc.send(latchReq("Wait", 0))
	waitFor(t, func() bool { return s.Stats().ReaderTakeovers == 1 })
	p, _ := json.Marshal(Args{A: 9})
	holdSeq := rc.send(newReq("Hold", "Hold", protocol.JSON, p, nil))
	<-h.started // Hold runs inline on the second reader
	close(l.ch) // Wait returns on the first one, which must stay out
	if r := rc.read(); r.Seq() != waitSeq {
		t.Fatalf("got seq %d, want Wait's %d", r.Seq(), waitSeq)
	}
	close(h.release)
	if r := rc.read(); r.Seq() != holdSeq {
		t.Fatalf("got seq %d, want Hold's %d", r.Seq(), holdSeq)
	}
	for i := range 20 {
		res := rc.call(latchReq("Fast", i))
		var r Reply
		if err := json.Unmarshal(res.Payload, &r); err != nil || r.C != i {
			t.Fatalf("Fast(%d) = %d, %v", i, r.C, err)
		}
	}
}
