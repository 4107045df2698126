package server

import (
	"strconv"
	"sync"
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

// WithQueueTimeout lets a request over a concurrency limit (server-wide or
// of its method) wait up to d for a slot, in arrival order, instead of
// being refused at once. At most as many requests wait as the server-wide
// limit allows to run, and at most as many of one method as that method's
// limit. One that waited d, or past its own deadline (share.DeadlineKey),
// is answered without running (ErrOverloaded, or a deadline_exceeded
// error), at the latest when d has passed. When it runs, the deadline its
// handler sees is shortened by the wait. Default 0: no queue.
func WithQueueTimeout(d time.Duration) OptionFn {
	return func(s *Server) { s.admissionCtl().queueTimeout = max(d, 0) }
}

// WithMethodConcurrencyLimiter admits at most l.Limit() requests of one
// method (servicePath.serviceMethod) at once, on top of the server-wide
// limit, and reports each finished request of the method to l. A request
// over the method's limit waits like one over the server-wide limit (see
// WithQueueTimeout) and is otherwise refused at once with ErrOverloaded;
// a waiting request does not hold up those of other methods. Default: no
// per-method limit.
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

// methodGate is the concurrency limit of one method. running and waiting
// are guarded by the admission's mutex.
type methodGate struct {
	limiter Limiter
	running int // requests of the method holding a slot
	waiting int // requests of the method in the queue
}

func (g *methodGate) limit() int { return max(g.limiter.Limit(), 1) }

// gate returns the limit of a method, nil when it has none. The map is
// written only by options, before the server serves.
func (a *admission) gate(servicePath, serviceMethod string) *methodGate {
	if a.methods == nil {
		return nil
	}
	return a.methods[servicePath][serviceMethod]
}

// admission is the server's concurrency gate. Its mutex guards running,
// queue, the method gates' counts and the timer; admit (on a connection's
// reader), release (when a request has run) and expire (the timer) are
// the only functions that change them. A request admitted or dequeued
// holds a server-wide slot, and one of its method if that has a limit,
// until release or drop frees them.
type admission struct {
	s            *Server
	limiter      Limiter
	maxInFlight  int
	queueTimeout time.Duration

	methods map[string]map[string]*methodGate // per-method limits; nil: none

	// refuse answers a request that will not run and start runs one that
	// was dequeued; the server's functions, replaced by unit tests.
	refuse func(c *conn, req *protocol.Message, err error)
	start  func(w waiting)

	mu      sync.Mutex
	running int
	queue   []waiting   // arrival order
	timer   *time.Timer // answers the queue's head when it has waited too long
	armed   bool        // timer is pending
}

// waiting is a request queued for a slot; gate is its method's limit.
type waiting struct {
	c    *conn
	req  *protocol.Message
	gate *methodGate
	at   time.Time
}

func (s *Server) admissionCtl() *admission {
	if s.adm == nil {
		s.adm = &admission{s: s, refuse: s.refuse}
		s.adm.start = s.adm.startQueued
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
// holds c's request slot. ok means run it now: it holds an admission slot
// (and one of its method's limit, gate, which release must be given);
// otherwise it was queued or refused.
func (s *Server) admit(c *conn, req *protocol.Message) (gate *methodGate, ok bool) {
	a := s.adm
	if a == nil {
		return nil, true
	}
	return a.admit(c, req)
}

func (a *admission) admit(c *conn, req *protocol.Message) (*methodGate, bool) {
	g := a.gate(req.ServicePath, req.ServiceMethod)
	now := time.Now()
	limit, mlimit := a.limit(), 0
	if g != nil {
		mlimit = g.limit()
	}
	a.mu.Lock()
	run, stale := a.dequeueLocked(now, limit)
	globalFull := limit != 0 && a.running >= limit
	methodFull := g != nil && g.running >= mlimit
	admitted, queued := false, false
	switch {
	case !globalFull && !methodFull:
		a.running++
		if g != nil {
			g.running++
		}
		admitted = true
	case a.queueTimeout > 0 && (limit == 0 || len(a.queue) < limit) && (!methodFull || g.waiting < mlimit):
		a.queue = append(a.queue, waiting{c: c, req: req, gate: g, at: now})
		if g != nil {
			g.waiting++
		}
		a.armLocked(now)
		queued = true
	}
	a.mu.Unlock()
	a.settle(run, stale, now)
	if !admitted && !queued {
		a.s.stats.shed.Add(1)
		a.refuse(c, req, ErrOverloaded)
	}
	return g, admitted
}

// release frees the slots (server-wide and of its method, g) of a request
// that ran from start until now, reports it to the limiters and hands the
// slots to the waiting requests that can run.
func (a *admission) release(start time.Time, g *methodGate) {
	now := time.Now()
	limit := a.limit()
	a.mu.Lock()
	running, mrunning := a.running, 0
	a.running--
	if g != nil {
		mrunning = g.running
		g.running--
	}
	run, stale := a.dequeueLocked(now, limit)
	a.armLocked(now)
	a.mu.Unlock()
	a.settle(run, stale, now)
	if g != nil {
		g.limiter.Observe(now.Sub(start), mrunning)
	}
	if a.limiter != nil {
		a.limiter.Observe(now.Sub(start), running)
	}
}

// drop frees the slots of a dequeued request that will not run.
func (a *admission) drop(w waiting, now time.Time) {
	limit := a.limit()
	a.mu.Lock()
	a.running--
	if w.gate != nil {
		w.gate.running--
	}
	run, stale := a.dequeueLocked(now, limit)
	a.armLocked(now)
	a.mu.Unlock()
	a.settle(run, stale, now)
}

// expire runs on the timer: it answers the requests that waited too long
// even when no slot is freed.
func (a *admission) expire() {
	now := time.Now()
	limit := a.limit()
	a.mu.Lock()
	a.armed = false
	run, stale := a.dequeueLocked(now, limit)
	a.armLocked(now)
	a.mu.Unlock()
	a.settle(run, stale, now)
}

// armLocked sets the timer for the moment the queue's head has waited
// the queue timeout, unless it is set or the queue is empty (a timer set
// for an earlier head fires early and sets it again). The caller holds a.mu.
func (a *admission) armLocked(now time.Time) {
	if a.armed || len(a.queue) == 0 {
		return
	}
	d := a.queue[0].at.Add(a.queueTimeout).Sub(now)
	a.armed = true
	if a.timer == nil {
		a.timer = time.AfterFunc(d, a.expire)
		return
	}
	a.timer.Reset(d)
}

// dequeueLocked removes from the queue the requests that waited the queue
// timeout (stale) and, while slots are free, those that may run now (run,
// which then hold their slots). A request whose method is at its limit
// stays and lets later ones pass. The caller holds a.mu.
func (a *admission) dequeueLocked(now time.Time, limit int) (run, stale []waiting) {
	if len(a.queue) == 0 {
		return nil, nil
	}
	keep := a.queue[:0]
	for i, w := range a.queue {
		if now.Sub(w.at) >= a.queueTimeout {
			stale = append(stale, w)
			if w.gate != nil {
				w.gate.waiting--
			}
			continue
		}
		if limit != 0 && a.running >= limit {
			// Full: the rest arrived later, so none of them is stale either.
			keep = append(keep, a.queue[i:]...)
			break
		}
		if w.gate != nil && w.gate.running >= w.gate.limit() {
			keep = append(keep, w)
			continue
		}
		a.running++
		if w.gate != nil {
			w.gate.running++
			w.gate.waiting--
		}
		run = append(run, w)
	}
	clear(a.queue[len(keep):])
	a.queue = keep
	return run, stale
}

// settle answers the stale requests and starts the dequeued ones.
func (a *admission) settle(run, stale []waiting, now time.Time) {
	for _, w := range stale {
		a.s.stats.shed.Add(1)
		a.refuse(w.c, w.req, ErrOverloaded)
	}
	for _, w := range run {
		if !shortenDeadline(w.req, now.Sub(w.at)) {
			a.s.stats.expired.Add(1)
			a.drop(w, now)
			a.refuse(w.c, w.req, errQueuedTooLong)
			continue
		}
		a.start(w)
	}
}

// startQueued runs a dequeued request on the server, which refuses it if
// it no longer serves.
func (a *admission) startQueued(w waiting) {
	s := a.s
	if s.state.Load() != stateServing {
		a.drop(w, time.Now())
		s.refuse(w.c, w.req, ErrShuttingDown)
		return
	}
	j := job{c: w.c, req: w.req, gate: w.gate}
	if s.workers != nil && s.workers.slots == nil {
		s.workers.submit(j) // never blocks: the default pool is unbounded
	} else {
		go s.serveRequest(j) // a bounded pool could wait on this very worker
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
