package server

import (
	"sync/atomic"
	"time"
)

// Inline handlers.
//
// A request whose frame was the last one buffered on its connection runs on
// the connection's reader goroutine instead of a pool worker: the reader
// would otherwise hand it over and then only block in a read. That saves a
// goroutine hand-off (and the wake of another thread) per call, which is
// most of a lone call's server cost: at c=1 it took the server's CPU per
// call from ~80 µs to ~43 µs and throughput from 1.1x to 1.6x rpcx's in the
// benchmarks.
//
// A handler that runs long must not stop the connection's other requests
// from being read (or deadlock a handler waiting for another call on the
// same connection). A per-connection watchdog timer ticks every grace
// period (WithInlineGrace, default DefaultInlineGrace) while the
// connection runs handlers inline: when it finds the same inline run in
// progress as at its previous tick, that handler has run for at least one
// period, and a new goroutine takes over reading the connection; the
// goroutine of the slow handler, when it returns, stops being the reader.
// A connection's original goroutine then waits for the connection to end
// (it owns the accept-side cleanup); a later reader just exits. The timer
// is not touched per call (re-arming a timer per call wakes the network
// poller, which costs more than the hand-off saved); it stops when a whole
// period passed without an inline run.

// DefaultInlineGrace is how long a handler may run on its connection's
// reader before another goroutine takes over reading.
const DefaultInlineGrace = time.Millisecond

// WithInlineGrace sets how long a handler run on its connection's reader
// may run before another goroutine takes over reading the connection:
// between d and 2d (default DefaultInlineGrace). d <= 0 turns inline handlers off: every
// request then runs on a pool worker. Servers with WithPool or
// WithCustomPool never run handlers inline, so the pool's bound holds.
func WithInlineGrace(d time.Duration) OptionFn {
	return func(s *Server) { s.inlineGrace = d }
}

// Reader states of a connection (conn.reader).
const (
	readerReading   int32 = iota // the reader goroutine reads
	readerInline                 // the reader runs a handler inline
	readerTakenOver              // a new goroutine took over while it ran
)

// readEnd says how a read loop ended.
type readEnd uint8

const (
	endClose     readEnd = iota // the connection failed: close it
	endFlush                    // flush queued responses, then close
	endHandedOff                // another goroutine reads now
)

// inlineState is the part of conn that inline handlers use.
type inlineState struct {
	reader   atomic.Int32
	runs     atomic.Uint64          // inline runs started
	armed    atomic.Bool            // the watchdog timer is armed
	watchdog *time.Timer            // fires watch; made at the first inline run
	lastRuns atomic.Uint64          // runs at the watchdog's previous tick
	readEnd  chan struct{}          // closed when the last reader has closed the connection
	method   atomic.Pointer[method] // the method of the inline run; nil: none found
}

// offReaderCalls is how many calls of a method run on pool workers after
// one of its calls was taken over: a method that is slow once is likely
// slow again, and each takeover costs the connection up to two grace
// periods of reading.
const offReaderCalls = 1024

// inlineAllowed reports whether a call of m may run on the reader.
func inlineAllowed(m *method) bool {
	if m == nil || m.offReader.Load() <= 0 {
		return true
	}
	m.offReader.Add(-1)
	return false
}

// runInline runs req on the reader goroutine. It reports false when the
// handler outlived the grace period and another goroutine reads now.
func (s *Server) runInline(c *conn, j job, m *method) bool {
	if c.watchdog == nil {
		// Made stopped, before the stores below publish it to the
		// goroutine the timer starts.
		c.watchdog = time.AfterFunc(time.Hour, func() { s.watch(c) })
		c.watchdog.Stop()
	}
	c.method.Store(m)
	c.runs.Add(1)
	c.reader.Store(readerInline)
	if !c.armed.Load() {
		c.arm()
	}
	s.serveRequest(j)
	return c.reader.CompareAndSwap(readerInline, readerReading)
}

// arm starts the watchdog unless it runs already.
func (c *conn) arm() {
	if c.armed.CompareAndSwap(false, true) {
		c.watchdog.Reset(c.s.inlineGrace)
	}
}

// watch is the watchdog's tick. It takes over reading when the inline run
// it saw at its previous tick is still in progress, ticks again while
// handlers run inline, and stops after a period without one.
func (s *Server) watch(c *conn) {
	runs := c.runs.Load()
	last := c.lastRuns.Swap(runs)
	stuck := runs == last && c.reader.Load() == readerInline
	active := runs != last || c.reader.Load() == readerInline
	if stuck && c.reader.CompareAndSwap(readerInline, readerTakenOver) {
		if m := c.method.Load(); m != nil {
			m.offReader.Store(offReaderCalls)
		}
		c.armed.Store(false)
		s.stats.takeovers.Add(1)
		c.reader.Store(readerReading)
		s.readAndClose(c)
		return
	}
	if active {
		c.watchdog.Reset(s.inlineGrace)
		return
	}
	c.armed.Store(false)
	// An inline run may have started after the loads above and seen the
	// timer still armed: look again now that it is not.
	if c.runs.Load() != runs || c.reader.Load() == readerInline {
		c.arm()
	}
}
