package server

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// ErrOverloaded is the answer to a request the server refused before
// running it (and before decoding its payload) because it was over its
// concurrency limit (WithConcurrencyLimiter, WithMaxInFlight) or waited
// longer than WithQueueTimeout. Its code, share.CodeOverloaded, tells
// courier clients that the call did not run and may go to another server.
var ErrOverloaded = share.NewError(share.CodeOverloaded, "server is overloaded")

// errQueuedTooLong is the answer to a request whose own deadline passed
// while it waited for a slot: it is dropped without running.
var errQueuedTooLong = share.NewError(share.CodeDeadlineExceeded, "server: deadline passed while the request waited for a slot")

// WithConcurrencyLimiter admits at most l.Limit() requests of the rpcx
// protocol at once (server-wide) and reports each finished request to l.
// A request over the limit waits in a FIFO queue when WithQueueTimeout is
// set, and is otherwise refused at once with ErrOverloaded, before its
// payload is decoded. Default: no limiter. See NewGradientLimiter.
func WithConcurrencyLimiter(l Limiter) OptionFn {
	return func(s *Server) { s.admissionCtl().limiter = l }
}

// WithMaxInFlight is a hard cap on requests of the rpcx protocol running at
// once, whatever a limiter says; n <= 0 means none. Requests over it are
// queued or refused as with WithConcurrencyLimiter. Default: none.
func WithMaxInFlight(n int) OptionFn {
	return func(s *Server) { s.admissionCtl().maxInFlight = max(n, 0) }
}

// WithQueueTimeout lets a request over the concurrency limit wait up to d
// for a slot, in arrival order, instead of being refused at once. At most
// as many requests wait as the limit allows to run; one that waited longer
// than d, or past its own deadline (share.DeadlineKey), is answered without
// running (ErrOverloaded, or a deadline_exceeded error). When it runs, the
// deadline its handler sees is shortened by the wait. Default 0: no queue.
func WithQueueTimeout(d time.Duration) OptionFn {
	return func(s *Server) { s.admissionCtl().queueTimeout = max(d, 0) }
}

// WithMethodConcurrencyLimiter admits at most l.Limit() requests of one
// method (servicePath.serviceMethod) at once, on top of the server-wide
// limit, and reports each finished request of the method to l. A request
// over the method's limit is refused at once with ErrOverloaded (it never
// waits in the queue). Default: no per-method limit.
func WithMethodConcurrencyLimiter(servicePath, serviceMethod string, l Limiter) OptionFn {
	return func(s *Server) {
		a := s.admissionCtl()
		if a.methods == nil {
			a.methods = map[string]map[string]*methodGate{}
		}
		if a.methods[servicePath] == nil {
			a.methods[servicePath] = map[string]*methodGate{}
		}
		a.methods[servicePath][serviceMethod] = &methodGate{limiter: l}
	}
}

// methodGate is the concurrency limit of one method; running is changed
// only by acquire and done.
type methodGate struct {
	limiter Limiter
	running atomic.Int64
}

// acquire takes a slot of the method; false means it is at its limit.
func (g *methodGate) acquire() bool {
	if g.running.Add(1) > int64(max(g.limiter.Limit(), 1)) {
		g.running.Add(-1)
		return false
	}
	return true
}

// done frees a slot; observe reports the request's run time to the limiter.
func (g *methodGate) done(rtt time.Duration, observe bool) {
	n := g.running.Add(-1) + 1
	if observe {
		g.limiter.Observe(rtt, int(n))
	}
}

// gate returns the limit of a method, nil when it has none. The map is
// written only by options, before the server serves.
func (a *admission) gate(servicePath, serviceMethod string) *methodGate {
	if a.methods == nil {
		return nil
	}
	return a.methods[servicePath][serviceMethod]
}

// admission is the server's concurrency gate. Its mutex guards running and
// queue; admit (on a connection's reader) and release (at the end of
// serveRequest) are the only functions that change them, and a request
// admitted or dequeued holds one slot until serveRequest releases it.
type admission struct {
	s            *Server
	limiter      Limiter
	maxInFlight  int
	queueTimeout time.Duration

	methods map[string]map[string]*methodGate // per-method limits; nil: none

	mu      sync.Mutex
	running int
	queue   []waiting
}

// waiting is a request queued for a slot.
type waiting struct {
	c   *conn
	req *protocol.Message
	at  time.Time
}

func (s *Server) admissionCtl() *admission {
	if s.adm == nil {
		s.adm = &admission{s: s}
	}
	return s.adm
}

// limit returns the number of requests that may run now; 0 means no limit.
func (a *admission) limit() int {
	n := a.maxInFlight
	if a.limiter != nil {
		l := max(a.limiter.Limit(), 1)
		if n == 0 || l < n {
			n = l
		}
	}
	return n
}

// admit decides what happens to a request read from c, which already
// holds c's request slot: true means run it now (it holds an admission
// slot); false means it was queued or refused.
func (s *Server) admit(c *conn, req *protocol.Message) bool {
	a := s.adm
	if a == nil {
		return true
	}
	g := a.gate(req.ServicePath, req.ServiceMethod)
	if g != nil && !g.acquire() {
		s.stats.shed.Add(1)
		s.refuse(c, req, ErrOverloaded)
		return false
	}
	now := time.Now()
	limit := a.limit()
	a.mu.Lock()
	start, stale := a.dequeueLocked(now, limit)
	admitted, queued := false, false
	switch {
	case limit == 0 || (a.running < limit && len(a.queue) == 0):
		a.running++
		admitted = true
	case a.queueTimeout > 0 && len(a.queue) < limit:
		a.queue = append(a.queue, waiting{c: c, req: req, at: now})
		queued = true
	}
	a.mu.Unlock()
	a.settle(start, stale, now)
	if !admitted && !queued {
		if g != nil {
			g.done(0, false)
		}
		s.stats.shed.Add(1)
		s.refuse(c, req, ErrOverloaded)
	}
	return admitted
}

// release frees the slots (server-wide and of its method, g) of a request
// that ran from start until now, reports it to the limiters and hands the
// server-wide slot to the next waiting request.
func (a *admission) release(start time.Time, g *methodGate) {
	now := time.Now()
	if g != nil {
		g.done(now.Sub(start), true)
	}
	if running := a.free(now); a.limiter != nil {
		a.limiter.Observe(now.Sub(start), running)
	}
}

// drop frees the slots of a dequeued request that will not run.
func (a *admission) drop(w waiting, now time.Time) {
	if g := a.gate(w.req.ServicePath, w.req.ServiceMethod); g != nil {
		g.done(0, false)
	}
	a.free(now)
}

// free frees one slot and starts or answers the waiting requests that
// can be settled now. It returns the number of slots taken before.
func (a *admission) free(now time.Time) int {
	limit := a.limit()
	a.mu.Lock()
	running := a.running
	a.running--
	run, stale := a.dequeueLocked(now, limit)
	a.mu.Unlock()
	a.settle(run, stale, now)
	return running
}

// dequeueLocked removes from the queue the requests that waited too long
// (stale) and, while slots are free, those that may run now (run, which
// then hold a slot). The caller holds a.mu.
func (a *admission) dequeueLocked(now time.Time, limit int) (run, stale []waiting) {
	i := 0
	for ; i < len(a.queue); i++ {
		w := a.queue[i]
		if now.Sub(w.at) > a.queueTimeout {
			stale = append(stale, w)
			continue
		}
		if limit != 0 && a.running >= limit {
			break
		}
		a.running++
		run = append(run, w)
	}
	if i > 0 {
		n := copy(a.queue, a.queue[i:])
		clear(a.queue[n:])
		a.queue = a.queue[:n]
	}
	return run, stale
}

// settle answers the stale requests and starts the dequeued ones.
func (a *admission) settle(run, stale []waiting, now time.Time) {
	s := a.s
	for _, w := range stale {
		if g := a.gate(w.req.ServicePath, w.req.ServiceMethod); g != nil {
			g.done(0, false)
		}
		s.stats.shed.Add(1)
		s.refuse(w.c, w.req, ErrOverloaded)
	}
	for _, w := range run {
		if !shortenDeadline(w.req, now.Sub(w.at)) {
			s.stats.expired.Add(1)
			a.drop(w, now)
			s.refuse(w.c, w.req, errQueuedTooLong)
			continue
		}
		if s.state.Load() != stateServing {
			a.drop(w, now)
			s.refuse(w.c, w.req, ErrShuttingDown)
			continue
		}
		j := job{c: w.c, req: w.req}
		if s.workers != nil && s.workers.slots == nil {
			s.workers.submit(j) // never blocks: the default pool is unbounded
		} else {
			go s.serveRequest(j) // a bounded pool could wait on this very worker
		}
	}
}

// shortenDeadline subtracts waited from the time budget a request carries
// (share.DeadlineKey, else share.ServerTimeout). It reports false when the
// budget is used up: the caller has given up and the request must not run.
func shortenDeadline(req *protocol.Message, waited time.Duration) bool {
	for _, k := range [...]string{share.DeadlineKey, share.ServerTimeout} {
		v, ok := req.Metadata[k]
		if !ok {
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return true // not a budget we honour
		}
		left := ms - waited.Milliseconds()
		if left <= 0 {
			return false
		}
		req.Metadata[k] = strconv.FormatInt(left, 10)
		return true
	}
	return true
}
