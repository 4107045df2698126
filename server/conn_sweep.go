package server

import (
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// sweepPeriod is how often the sweeper looks at the connections whose
// reader waits where it served calls: a wait seen at two looks in a row
// (so idle for a period at least, two at most) is handed to a fresh
// goroutine with a small stack (see conn_idle.go).
const sweepPeriod = 50 * time.Millisecond

// conn.park holds the waits of the connection's reader (waitRaw), counted
// in steps of parkStep, and flags: parkWait while the reader waits,
// parkRecycle once the sweeper ended that wait, parkShallow when the
// waiter is a fresh goroutine (idleRead) that started with more than the
// minimal stack.
const (
	parkWait    = 1
	parkRecycle = 2
	parkShallow = 4
	parkStep    = 8
)

// minStartStack is the stack new goroutines start with while the runtime
// sees mostly shallow stacks (Go's minimum on the usual platforms). The
// runtime starts them with the average stack depth it saw at the last
// collection; a fresh waiter started when that was larger is handed on
// again once it is back to this.
const minStartStack = 2048

// aLongTimeAgo is a read deadline in the past: it ends a wait at once.
var aLongTimeAgo = time.Unix(1, 0)

// sweeper ends the waits of readers whose stacks grew, once the connection
// has been idle for a sweep period. Its goroutine runs only while
// connections are on its list; a connection joins it at a wait (waitRaw)
// and leaves it when its wait is ended or it closes.
type sweeper struct {
	s    *Server
	list tickedList[sweptConn]

	// smallStart says whether new goroutines start with minStartStack,
	// as read at the sweeper's last tick (true before the first).
	smallStart atomic.Bool
	sample     [1]metrics.Sample // the starting stack size; used by loop only
}

// sweptConn is a connection on the sweeper's list and its park word at the
// previous look.
type sweptConn struct {
	c    *conn
	park uint64
}

// add puts c on the list, starting the goroutine if needed; c.swept was
// set by the caller.
func (w *sweeper) add(c *conn) { w.list.add(sweptConn{c: c}, w.loop) }

// loop looks at the listed connections every sweep period while there are
// any, reading the runtime's starting stack size first.
func (w *sweeper) loop() { w.list.loop(sweepPeriod, w.readStartStack, w.look) }

// readStartStack updates smallStart from runtime/metrics.
func (w *sweeper) readStartStack() {
	w.sample[0].Name = "/gc/stack/starting-size:bytes"
	metrics.Read(w.sample[:])
	if v := w.sample[0].Value; v.Kind() == metrics.KindUint64 {
		w.smallStart.Store(v.Uint64() <= minStartStack)
	}
}

// look checks one connection and reports whether it stays on the list. A
// reader still in the wait it was in at the previous look has its wait
// ended: parkRecycle is set and the read deadline put in the past, both
// under c.mu, which waitRaw takes before it puts its deadline back. A
// shallow waiter's wait is ended only when a fresh goroutine would start
// smaller.
func (w *sweeper) look(e *sweptConn) bool {
	c := e.c
	p := c.park.Load()
	last := e.park
	e.park = p
	if p&parkWait == 0 || p != last {
		return c.ctx.Err() == nil // busy or a new wait; a closed connection leaves
	}
	if p&parkShallow != 0 && !w.smallStart.Load() {
		return true
	}
	// Off the list first: a reader that wakes from now on puts c back.
	c.swept.Store(false)
	c.mu.Lock()
	ended := c.park.CompareAndSwap(p, p|parkRecycle)
	if ended {
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
	if ended {
		return false
	}
	// The reader woke meanwhile: c stays unless the reader listed it again.
	return c.swept.CompareAndSwap(false, true)
}
