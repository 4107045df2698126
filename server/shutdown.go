package server

import (
	"context"
	"net"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Close closes the server at once: listeners, every connection (queued
// responses are dropped) and the handler ctxs are cancelled; the shutdown
// hooks run (once, also across Shutdown). Close does not wait for
// handlers. It is idempotent and safe to call concurrently with Shutdown.
func (s *Server) Close() error {
	s.forceClose()
	s.runShutdownHooks()
	return nil
}

// Shutdown shuts the server down gracefully, in this order: readiness goes
// to false (GET /readyz answers 503, the Health service NOT_SERVING); the
// RegisterPlugins' Unregister removes every service from the registries
// (the server keeps serving them); the shutdown delay (WithShutdownDelay)
// passes so that clients see the change; then it closes the listeners,
// sends the drain notice on every connection, answers two-way requests
// that arrive from then on with the "server is shutting down" error (code
// CodeUnavailable, metadata share.DrainKey; oneway requests still run, as
// they cannot be answered), waits until every request already received has
// been handled and its reply written, keeps reading until no request has
// arrived for 50ms (at most 2s, so that oneway messages a client sent
// before it saw the notice are not lost), closes the connections and runs the
// shutdown hooks once. It returns nil, or ctx.Err() if ctx ends first:
// then it force-closes the connections and cancels the handler ctxs,
// returning without waiting for handlers that ignore their ctx. Calling it
// again, or concurrently, waits for the first call to finish (or for its
// own ctx).
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.withdraw(ctx); err != nil {
		s.Close()
		return err
	}
	s.mu.Lock()
	first := s.state.CompareAndSwap(stateServing, stateDraining)
	lns := s.snapshotListeners()
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if !first {
		select {
		case <-s.doneCh:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.NotifyReadiness()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range conns {
		c.sendDrain()
	}
	if err := s.waitIdle(ctx); err != nil {
		s.Close()
		return err
	}
	if err := s.waitQuiet(ctx); err != nil {
		s.Close()
		return err
	}
	for _, c := range conns {
		c.closeAfterFlush()
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
	if s.workers != nil {
		s.workers.StopAndWait()
	} else if s.ownPool {
		s.pool.StopAndWaitFor(time.Second)
	}
	s.Close()
	return nil
}

// waitIdle waits until no request is in flight.
func (s *Server) waitIdle(ctx context.Context) error {
	delay := time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.doneCh: // closed meanwhile
			return nil
		case <-t.C:
		}
		if s.inflight.Load() == 0 {
			return nil
		}
		t.Reset(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// Bounds of waitQuiet: the quiet period that ends it and the longest it
// waits (clients that ignore the drain notice keep sending).
const (
	drainQuiet  = 50 * time.Millisecond
	drainLinger = 2 * time.Second
)

// waitQuiet keeps the drained connections open and read until no request
// has arrived for drainQuiet (at most drainLinger), then waits for the
// requests read meanwhile. A client that had not yet seen the drain notice
// may have written oneway messages: they arrive in this window and run
// instead of being lost with the connection. Two-way requests that arrive
// are refused with ErrShuttingDown, which clients retry elsewhere.
func (s *Server) waitQuiet(ctx context.Context) error {
	end := time.Now().Add(drainLinger)
	t := time.NewTimer(drainQuiet)
	defer t.Stop()
	for seen := s.stats.requests.Load(); ; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.doneCh:
			return nil
		case <-t.C:
		}
		now := s.stats.requests.Load()
		if now == seen || time.Now().After(end) {
			return s.waitIdle(ctx)
		}
		seen = now
		t.Reset(drainQuiet)
	}
}

func (s *Server) snapshotListeners() []net.Listener {
	lns := make([]net.Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	return lns
}

// forceClose closes listeners and connections and cancels handler ctxs.
func (s *Server) forceClose() {
	defer s.NotifyReadiness()
	s.mu.Lock()
	s.state.Store(stateClosed)
	lns := s.snapshotListeners()
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancelBase()
	s.httpSide.stop()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range conns {
		c.close()
	}
	if s.workers != nil {
		s.workers.Stop()
	} else if s.ownPool {
		s.pool.Stop()
	}
}

func (s *Server) runShutdownHooks() {
	s.hooksOnce.Do(func() {
		s.mu.Lock()
		fs := append(make([]func(*Server), 0, len(s.onShutdown)), s.onShutdown...)
		s.mu.Unlock()
		for _, f := range fs {
			f(s)
		}
		close(s.doneCh)
	})
}

// sendDrain queues the drain notice: a heartbeat response with message ID
// share.DrainSeq and metadata share.DrainKey.
func (c *conn) sendDrain() {
	if !c.draining.CompareAndSwap(false, true) {
		return
	}
	m := protocol.GetPooledMsg()
	m.SetMessageType(protocol.Response)
	m.SetHeartbeat(true)
	m.SetSeq(share.DrainSeq)
	m.Metadata = map[string]string{share.DrainKey: "1"}
	c.enqueue(outItem{msg: m, kind: itemDrain})
}
