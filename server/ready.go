package server

import (
	"context"
	"sync"
	"time"

	"github.com/courier-rpc/courier/log"
)

// ReadinessPlugin is implemented by plugins whose work must be done before
// the server may be called ready, such as a register plugin that has not
// yet published the server in its registry. Ready must be cheap and safe
// for concurrent use; a plugin that learns it became ready should call
// Server.NotifyReadiness so that watchers (the Health service's Watch)
// learn it at once instead of at their next poll.
type ReadinessPlugin interface {
	Ready() bool
}

// readiness holds what Ready combines besides the server's state. Its
// fields are guarded by mu; changed is closed and replaced on every change
// (owner: notify).
type readiness struct {
	mu        sync.Mutex
	held      bool          // SetReady(false)
	withdrawn bool          // Shutdown began
	changed   chan struct{} // closed at the next change
}

// Ready reports whether the server should receive traffic: it is serving
// (not shutting down or closed), a listener accepts (Started is closed),
// SetReady(false) is not in force, and every ReadinessPlugin is ready. It
// is what GET /readyz and the Health service's whole-server status report.
// Safe for concurrent use.
func (s *Server) Ready() bool {
	if s.state.Load() != stateServing {
		return false
	}
	select {
	case <-s.Started:
	default:
		return false
	}
	s.ready.mu.Lock()
	hold := s.ready.held || s.ready.withdrawn
	s.ready.mu.Unlock()
	if hold {
		return false
	}
	for _, p := range s.Plugins.All() {
		if r, ok := p.(ReadinessPlugin); ok && !r.Ready() {
			return false
		}
	}
	return true
}

// Stopping reports whether the server has begun to stop: Shutdown has
// closed its listeners and drains, or Close ran. During Shutdown's first
// step (readiness false, registries withdrawn, the shutdown delay) it is
// still false. Long polls such as the Health service's Watch answer at
// once when it is true, so that they never hold up the drain. Safe for
// concurrent use.
func (s *Server) Stopping() bool { return s.state.Load() != stateServing }

// SetReady sets the operator's part of readiness: false keeps the server
// out of rotation (Ready false, /readyz 503, Health NOT_SERVING) while it
// keeps serving calls, e.g. while caches warm up; true lifts that. Default
// true. It cannot make a shutting-down server ready. Safe for concurrent
// use.
func (s *Server) SetReady(ready bool) {
	s.ready.mu.Lock()
	s.ready.held = !ready
	s.ready.mu.Unlock()
	s.NotifyReadiness()
}

// ReadinessChanged returns a channel that is closed at the next change of
// an input of Ready (a listener started, SetReady, Shutdown or Close
// began, or a plugin's NotifyReadiness). Call Ready after it fires and ask
// for a new channel. Safe for concurrent use.
func (s *Server) ReadinessChanged() <-chan struct{} {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if s.ready.changed == nil {
		s.ready.changed = make(chan struct{})
	}
	return s.ready.changed
}

// NotifyReadiness wakes the watchers of ReadinessChanged. Plugins call it
// when their Ready answer changes. Safe for concurrent use.
func (s *Server) NotifyReadiness() {
	s.ready.mu.Lock()
	ch := s.ready.changed
	s.ready.changed = nil
	s.ready.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// WithShutdownDelay sets how long Shutdown waits, after it has marked the
// server not ready and removed it from every registry, before it stops
// accepting and drains: the time clients need to see the change (a
// registry watch, a readiness probe period) so that no new call is sent
// to a server that is going away. Calls are served normally during the
// delay. Default 0 (no wait); a negative value counts as 0.
func WithShutdownDelay(d time.Duration) OptionFn {
	return func(s *Server) { s.shutdownDelay = max(d, 0) }
}

// withdraw is the first step of Shutdown, run once: readiness goes to
// false, the RegisterPlugins' Unregister withdraws every service from the
// registries (the services stay registered with the server and keep being
// served), and the shutdown delay passes. Concurrent callers wait for the
// first one. It returns ctx.Err() if ctx ends first.
func (s *Server) withdraw(ctx context.Context) error {
	s.withdrawOnce.Do(func() {
		go func() {
			defer close(s.withdrawn)
			s.ready.mu.Lock()
			s.ready.withdrawn = true
			s.ready.mu.Unlock()
			s.NotifyReadiness()
			if s.state.Load() != stateServing {
				return
			}
			for _, name := range s.ListServices() {
				if err := s.Plugins.DoUnregister(name); err != nil {
					log.Warnf("server: shutdown: unregister %s from registries: %v", name, err)
				}
			}
			if s.shutdownDelay <= 0 {
				return
			}
			t := time.NewTimer(s.shutdownDelay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-s.doneCh: // closed meanwhile
			}
		}()
	})
	select {
	case <-s.withdrawn:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
