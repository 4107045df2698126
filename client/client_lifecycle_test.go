package client

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

func sleepMsCtx(parent context.Context, ms int) context.Context {
	return context.WithValue(parent, share.ReqMetaDataKey, map[string]string{"ms": strconv.Itoa(ms)})
}

// Scenario 17 (rpcx#117): after a call times out, the pending table is back
// to its size and the late response is discarded without error or leak.
func TestClientTimeoutLateResponse(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := dialTest(t, s, DefaultOption)
	before := c.pendingLen()

	// The handler sleeps 1 s: the 20 ms deadline still passes first on a
	// heavily loaded machine (with 200 ms a stall of 180 ms let the reply win).
	ctx, cancel := context.WithTimeout(sleepMsCtx(context.Background(), 1000), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Call(ctx, "S", "Sleep", &echoArgs{A: 1}, new(ignored))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("timeout took %v", d)
	}
	if n := c.pendingLen(); n != before {
		t.Fatalf("pending %d, want %d", n, before)
	}
	waitFor(t, 5*time.Second, "the late response", func() bool { return s.late.Load() == 1 })
	// The late response reached the reader before this call's response.
	var reply echoArgs
	if err := c.Call(context.Background(), "S", "Echo", &echoArgs{A: 2}, &reply); err != nil || reply.A != 2 {
		t.Fatalf("next call: %v %+v", err, reply)
	}
	if n := c.pendingLen(); n != before || c.IsShutdown() {
		t.Fatalf("pending %d, shutdown %t", n, c.IsShutdown())
	}

	// Cancellation works the same way.
	cctx, ccancel := context.WithCancel(sleepMsCtx(context.Background(), 10000))
	go func() {
		waitFor(t, 5*time.Second, "the call to be pending", func() bool { return c.pendingLen() == before+1 })
		ccancel()
	}()
	if err := c.Call(cctx, "S", "Sleep", &echoArgs{}, new(ignored)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if n := c.pendingLen(); n != before {
		t.Fatalf("pending %d after cancel", n)
	}
}

// 1,000 concurrent calls on one connection, answered out of order.
func TestClientConcurrentOutOfOrder(t *testing.T) {
	s := startTestServer(t, "tcp", nil)
	c := dialTest(t, s, DefaultOption)
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var reply echoArgs
			ctx, cancel := context.WithTimeout(sleepMsCtx(context.Background(), (n-i)%7), 20*time.Second)
			defer cancel()
			if err := c.Call(ctx, "S", "Sleep", &echoArgs{A: i}, &reply); err != nil {
				errs <- err
				return
			}
			if reply.A != i {
				errs <- errors.New("reply " + strconv.Itoa(reply.A) + " for call " + strconv.Itoa(i))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c.pendingLen() != 0 {
		t.Fatalf("pending %d", c.pendingLen())
	}
}

// A server that dies mid-call fails every pending call with ErrShutdown.
func TestClientServerKilledMidCall(t *testing.T) {
	for _, network := range []string{"memu", "tcp"} {
		t.Run(network, func(t *testing.T) {
			s := startTestServer(t, network, nil)
			c := dialTest(t, s, DefaultOption)
			done := make(chan *Call, 10)
			for range 5 {
				c.Go(sleepMsCtx(context.Background(), 10000), "S", "Sleep", &echoArgs{}, new(ignored), done)
			}
			waitFor(t, 5*time.Second, "5 pending calls", func() bool { return c.pendingLen() == 5 })
			err := c.Call(context.Background(), "S", "Kill", &echoArgs{}, new(ignored))
			if !errors.Is(err, ErrShutdown) {
				t.Fatalf("killed call: %v", err)
			}
			for range 5 {
				select {
				case call := <-done:
					if !errors.Is(call.Error, ErrShutdown) {
						t.Fatalf("pending call: %v", call.Error)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("pending call hangs after the server died")
				}
			}
			if !c.IsShutdown() || c.IsClosing() {
				t.Fatalf("shutdown %t closing %t", c.IsShutdown(), c.IsClosing())
			}
			if err := c.Call(context.Background(), "S", "Echo", &echoArgs{}, new(ignored)); !errors.Is(err, ErrShutdown) {
				t.Fatalf("call on a dead client: %v", err)
			}
			if call := <-c.Go(context.Background(), "S", "Echo", &echoArgs{}, new(ignored), nil).Done; !errors.Is(call.Error, ErrShutdown) {
				t.Fatalf("go on a dead client: %v", call.Error)
			}
		})
	}
}

// Scenario 4 (rpcx#41): Close on a client that never connected, twice, and
// concurrently with calls in flight.
func TestClientClose(t *testing.T) {
	t.Run("never connected", func(t *testing.T) {
		c := NewClient(DefaultOption)
		if c.IsShutdown() || c.IsClosing() {
			t.Fatal("new client reports shut down")
		}
		if err := c.Call(context.Background(), "S", "Echo", 1, new(ignored)); !errors.Is(err, ErrShutdown) {
			t.Fatalf("call before connect: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if !c.IsClosing() || !c.IsShutdown() {
			t.Fatal("closed client does not report it")
		}
		if err := c.Connect("memu", "nowhere"); !errors.Is(err, ErrShutdown) {
			t.Fatalf("connect after close: %v", err)
		}
		if c.RemoteAddr() != "" {
			t.Fatal("remote address without connection")
		}
	})
	t.Run("in flight", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		c := dialTest(t, s, DefaultOption)
		const n = 50
		errs := make(chan error, n)
		for range n {
			go func() {
				errs <- c.Call(sleepMsCtx(context.Background(), 10000), "S", "Sleep", &echoArgs{}, new(ignored))
			}()
		}
		waitFor(t, 5*time.Second, "calls in flight", func() bool { return c.pendingLen() == n })
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for range n {
			if err := <-errs; !errors.Is(err, ErrShutdown) || !errors.Is(err, errClientClosed) {
				t.Fatalf("in-flight call: %v", err)
			}
		}
		if !c.IsShutdown() || !c.IsClosing() {
			t.Fatal("state after close")
		}
		if err := c.Connect(s.network, s.addr); err == nil {
			t.Fatal("reconnect of a closed client")
		}
	})
	t.Run("connect twice", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		c := dialTest(t, s, DefaultOption)
		if err := c.Connect(s.network, s.addr); !errors.Is(err, errAlreadyConnected) {
			t.Fatalf("second connect: %v", err)
		}
	})
}

// The drain notice: in-flight calls finish, new ones fail with ErrDraining.
func TestClientDrain(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := dialTest(t, s, DefaultOption)
	inflight := c.Go(sleepMsCtx(context.Background(), 100), "S", "Sleep", &echoArgs{A: 5}, &echoArgs{}, nil)
	waitFor(t, 5*time.Second, "call in flight", func() bool { return c.pendingLen() == 1 })
	if err := c.Call(context.Background(), "S", "Drain", &echoArgs{}, new(ignored)); err != nil {
		t.Fatal(err)
	}
	if !c.IsClosing() || c.IsShutdown() {
		t.Fatalf("closing %t shutdown %t", c.IsClosing(), c.IsShutdown())
	}
	if err := c.Call(context.Background(), "S", "Echo", &echoArgs{}, new(ignored)); !errors.Is(err, ErrDraining) || IsServiceError(err) {
		t.Fatalf("call while draining: %v", err)
	}
	if call := <-c.Go(context.Background(), "S", "Echo", &echoArgs{}, new(ignored), nil).Done; !errors.Is(call.Error, ErrDraining) {
		t.Fatalf("go while draining: %v", call.Error)
	}
	if call := <-inflight.Done; call.Error != nil || call.Reply.(*echoArgs).A != 5 {
		t.Fatalf("in-flight call: %v", call.Error)
	}
	s.Close() // the server finishes its shutdown
	waitFor(t, 5*time.Second, "shutdown after the server closed", c.IsShutdown)
}

// Scenario 9 (rpcx#128): heartbeats keep a healthy connection, and a dead
// one is detected within the heartbeat window.
func TestClientHeartbeat(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	opt := DefaultOption
	opt.Heartbeat = true
	opt.HeartbeatInterval = 20 * time.Millisecond
	opt.MaxWaitForHeartbeat = 100 * time.Millisecond
	c := dialTest(t, s, opt)
	waitFor(t, 5*time.Second, "3 heartbeats", func() bool { return s.heartbeats.Load() >= 3 })
	if c.IsShutdown() {
		t.Fatal("healthy connection shut down")
	}

	s.swallowHeartbeats.Store(true) // the peer stops answering
	call := c.Go(sleepMsCtx(context.Background(), 10000), "S", "Sleep", &echoArgs{}, new(ignored), nil)
	start := time.Now()
	select {
	case got := <-call.Done:
		if !errors.Is(got.Error, ErrShutdown) || !errors.Is(got.Error, errHeartbeatTimeout) {
			t.Fatalf("pending call: %v", got.Error)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("dead connection not detected")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("detection took %v", d)
	}
	if !c.IsShutdown() {
		t.Fatal("client not shut down")
	}
}

// Scenario 5 (rpcx#625), client side: an idle timeout shorter than the
// handler closes the connection and fails the call instead of hanging.
func TestClientIdleTimeout(t *testing.T) {
	s := startTestServer(t, "tcp", nil)
	opt := DefaultOption
	opt.IdleTimeout = 50 * time.Millisecond
	c := dialTest(t, s, opt)
	if err := c.Call(context.Background(), "S", "Echo", &echoArgs{}, new(ignored)); err != nil {
		t.Fatal(err)
	}
	err := c.Call(sleepMsCtx(context.Background(), 2000), "S", "Sleep", &echoArgs{}, new(ignored))
	if !errors.Is(err, ErrShutdown) {
		t.Fatalf("err %v", err)
	}
	if !c.IsShutdown() {
		t.Fatal("idle connection not closed")
	}
}

// A peer that stops reading makes writes time out and fail the calls.
func TestClientWriteTimeout(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	opt := DefaultOption
	opt.WriteTimeout = 50 * time.Millisecond
	c := dialTest(t, s, opt)
	stall := c.Go(context.Background(), "S", "Stall", &echoArgs{}, new(ignored), nil)
	// The server reads nothing after Stall; the next write blocks on the pipe.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Call(ctx, "S", "Echo", make([]byte, 64<<10), new(ignored)) // more than the server buffers
	if !errors.Is(err, ErrShutdown) {
		t.Fatalf("err %v", err)
	}
	if call := <-stall.Done; !errors.Is(call.Error, ErrShutdown) {
		t.Fatalf("stalled call: %v", call.Error)
	}
}

// TestCloseWritesQueuedOneway: a oneway message whose send returned before
// Close is written, even when Close comes while other callers are still
// writing (its frame may wait in the write queue), not dropped with it.
func TestCloseWritesQueuedOneway(t *testing.T) {
	oneway := func(c *Client, mark string) error {
		req := protocol.NewMessage()
		req.ServicePath, req.ServiceMethod = "S", "Oneway"
		req.SetOneway(true)
		req.Metadata = map[string]string{"mark": mark}
		req.Payload = make([]byte, 2048)
		_, _, err := c.SendRaw(context.Background(), req)
		return err
	}
	for rep := range 30 {
		s := startTestServer(t, "tcp", nil)
		c := dialTest(t, s, DefaultOption)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 30 { // other callers keep a write in progress
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range 3 {
					_ = oneway(c, "other") // may fail once Close ran
				}
			}()
		}
		close(start)
		runtime.Gosched()
		if err := oneway(c, "last"); err != nil {
			t.Fatalf("rep %d: send: %v", rep, err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		found := false
		deadline := time.After(5 * time.Second)
		for !found {
			select {
			case m := <-s.onewayCh:
				found = m.Metadata["mark"] == "last"
			case <-deadline:
				t.Fatalf("rep %d: the oneway message sent before Close never arrived", rep)
			}
		}
		s.Close()
	}
}
