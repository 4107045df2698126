package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// idleCalls dials n plain TCP connections to addr and makes one call on
// each, reading the reply without buffering on the client side.
func idleCalls(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	req := newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":3}`), nil)
	req.SetSeq(1)
	frame, err := req.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		m := protocol.NewMessage()
		lim := protocol.DefaultLimits()
		if err := m.DecodeLimited(io.LimitReader(c, 1<<10), &lim); err != nil || string(m.Payload) != `{"C":6}` {
			t.Fatalf("call %d: %q %v", i, m.Payload, err)
		}
	}
	return conns
}

// goroutinesIn counts the goroutines whose stack shows fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return bytes.Count(buf, []byte(fn+"("))
}

// An idle TCP connection ends up waiting on a fresh goroutine of its own
// (idleRead) and holds no read buffer: its reader, whose stack grew
// serving the call, is gone. Memory per connection is only logged (the
// runtime starts goroutines with the average stack depth of the whole
// test binary, and the heap figure includes the test's client side).
func TestIdleConnectionWaitsOnFreshGoroutine(t *testing.T) {
	s, addr := newArithServer(t)
	const n = 300
	idleCalls(t, addr, 1) // pools and codec tables, not charged to the connections
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	idleCalls(t, addr, n)
	waitFor(t, func() bool {
		return goroutinesIn("server.(*Server).idleRead") == n+1 && goroutinesIn("server.(*Server).readLoop") == 0
	})
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("per idle connection: stack %.0f B, heap %.0f B", float64(after.StackInuse-before.StackInuse)/n,
		(float64(after.HeapInuse)-float64(before.HeapInuse))/n)
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if len(conns) != n+1 {
		t.Fatalf("%d connections tracked, want %d", len(conns), n+1)
	}
	for _, c := range conns {
		// The reader took c.mu after it gave its reader back (waitRaw); the
		// waiter holds a pooled head only while read(2) runs (rawRead).
		c.mu.Lock()
		held := c.br != nil
		c.mu.Unlock()
		if held {
			t.Fatal("an idle connection holds a read buffer")
		}
	}
}

// Calls spaced around the sweep period race the sweeper's hand-over with
// the bytes of the next call: none is lost and the read deadline holds.
func TestIdleHandOverLosesNothing(t *testing.T) {
	s, addr := newArithServer(t, WithReadTimeout(5*time.Second))
	const conns, calls = 8, 12
	var wg sync.WaitGroup
	for i := range conns {
		rc := dialRaw(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range calls {
				// 0.5 to 2.5 sweep periods, different on every connection.
				time.Sleep(sweepPeriod/2 + time.Duration((i*calls+j)*7%20)*sweepPeriod/10)
				seq := rc.send(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":3,"B":4}`), nil))
				m, err := rc.tryRead(5 * time.Second)
				if err != nil || m.Seq() != seq || string(m.Payload) != `{"C":12}` {
					t.Errorf("conn %d call %d: %v %v", i, j, m, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.ConnsClosed != 0 {
		t.Fatalf("%d connections closed", st.ConnsClosed)
	}
}

// A connection's own read deadline still closes it after its wait was
// handed to a fresh goroutine, and not before.
func TestReadTimeoutAfterHandOver(t *testing.T) {
	const timeout = 4 * sweepPeriod
	s, addr := newArithServer(t, WithReadTimeout(timeout))
	rc := dialRaw(t, addr)
	start := time.Now()
	rc.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":1,"B":2}`), nil))
	rc.expectClosed()
	if d := time.Since(start); d < timeout {
		t.Fatalf("closed after %v, before the read timeout %v", d, timeout)
	}
	waitFor(t, func() bool { return s.Stats().ConnsClosed == 1 })
}

// A connection switched to rpcx by HTTP CONNECT is handed to a fresh
// waiter like any other, goes on serving, and is ended once (its HTTP
// handler waits for it) when the client closes it.
func TestHTTPConnectHandOver(t *testing.T) {
	s, addr := newArithServer(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("CONNECT " + share.DefaultRPCPath + " HTTP/1.0\n\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for _, want := range []string{"HTTP/1.0 200 Connected to rpcx\n", "\n"} {
		if line, err := br.ReadString('\n'); err != nil || line != want {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
	rc := &rawClient{t: t, conn: conn, br: br}
	for i := range 2 {
		if m := rc.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":7,"B":8}`), nil)); string(m.Payload) != `{"C":56}` {
			t.Fatalf("call %d: %q", i, m.Payload)
		}
		waitFor(t, func() bool { return goroutinesIn("server.(*Server).idleRead") == 1 })
	}
	conn.Close()
	waitFor(t, func() bool { return s.Stats().ConnsClosed == 1 && len(s.ActiveClientConn()) == 0 })
}
