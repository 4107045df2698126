package server

import (
	"sync/atomic"
	"time"
)

// Inline handlers.
//
// Requests run on their connection's reader goroutine instead of a pool
// worker, one after the other, as the raw floor of the benchmarks does:
// the reader would otherwise hand each over and then only block in a read.
// That saves a goroutine hand-off (and the wake of another thread) per
// call. While the read buffer holds whole frames the replies queue
// (rbatch); when it holds no whole frame more, before reading again, the
// reader writes them all with one write (endBatch). At c=1000 over 10
// connections that took the server's read syscalls per call from 0.19 to
// 0.07 and its CPU per call down by a quarter to a third (A/B, same run).
//
// A handler that runs long must not stop the connection's other requests
// from being read (or deadlock a handler waiting for another call on the
// same connection). One watchdog goroutine per server ticks every grace
// period (WithInlineGrace, default DefaultInlineGrace) while connections
// run handlers inline; a connection joins its list at an inline run and
// leaves it at a tick that finds it reading with no inline run since the
// tick before. When a tick finds the same
// inline run in progress as a look at least one grace period earlier did,
// that handler has run for at least one period: a new goroutine takes
// over reading the connection (writing the replies the batch holds), and
// the goroutine of the slow handler, when it returns, stops being the
// reader and exits; the last reader ends the connection (conn.go's end).
// Nothing timer-related happens per call (re-arming a timer
// per call wakes the network poller, which costs more than the hand-off
// saved), and an idle server has no watchdog goroutine.

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

// conn.reader holds the reader's generation (bits 1 and up), which a
// takeover increments, and whether it runs a handler inline (bit 0). A
// goroutine is the reader while the generation is the one it started
// inline with, so a slow handler's goroutine cannot mistake a later
// reader's inline run for its own.
const readerInlineBit = 1

// loopExit says why a read loop (readLoop) returned.
type loopExit uint8

const (
	exitClose     loopExit = iota // the connection failed: close it
	exitFlush                     // flush queued responses, then close
	exitHandedOff                 // another goroutine reads now
	exitParked                    // idle: a fresh goroutine waits for the next bytes (idleRead)
)

// inlineState is the part of conn that inline handlers use.
type inlineState struct {
	reader   atomic.Uint64          // generation<<1 | inline
	runs     atomic.Uint64          // inline runs started
	watched  atomic.Bool            // in the watchdog's list
	lastRuns atomic.Uint64          // runs at the watchdog's previous look
	lastSeen int64                  // when the watchdog first saw runs at lastRuns (its own field, ns since watchEpoch)
	takenAt  atomic.Int64           // when the watchdog last took over reading (ns since watchEpoch)
	method   atomic.Pointer[method] // the method of the inline run; nil: none found

	// rbatch (under conn.mu, set and cleared by the current reader, or
	// by takeOver for it): the reader runs the requests of one read
	// buffer inline and writes their replies with one write when the
	// buffer holds no whole frame more (endBatch), like the floor; until
	// then nextLocked writes nothing.
	rbatch bool
}

// offReaderCalls is how many calls of a method run on pool workers after
// one of its calls was taken over: a method that is slow once is likely
// slow again, and each takeover costs the connection up to two grace
// periods of reading. It is small because on a busy machine a fast
// handler's thread is often descheduled for longer than a grace period:
// 1024 sent a third of all calls to the pool at c=1000 in the benchmarks.
const offReaderCalls = 64

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
	if !c.rbatch {
		c.mu.Lock()
		c.rbatch = true
		c.mu.Unlock()
	}
	gen := c.reader.Load() // bit 0 is clear: this goroutine reads
	c.method.Store(m)
	c.runs.Add(1)
	c.reader.Store(gen | readerInlineBit)
	// Only the goroutine that flips watched puts c on the list (the
	// watchdog clears it when it drops c); the plain load first keeps the
	// common case, already watched, free of a contended write.
	if !c.watched.Load() && c.watched.CompareAndSwap(false, true) {
		s.watchdog.add(c)
	}
	s.serveRequest(j)
	// Clear the inline bit if the generation is still ours. The swap fails
	// only when the watchdog moved to the next generation during the
	// handler (look): a new goroutine reads now, so this one must stop.
	// Doing both in one compare-and-swap leaves no moment where the
	// watchdog could take over a reader that has already gone back to
	// reading, or where two goroutines both think they read.
	if c.reader.CompareAndSwap(gen|readerInlineBit, gen) {
		return true
	}
	// Taken over. A handler that returns within a grace period of the
	// takeover was held up (its thread descheduled on a busy machine, a
	// pause) rather than slow: its method stays on the reader.
	if m != nil && time.Since(watchEpoch).Nanoseconds()-c.takenAt.Load() < int64(s.inlineGrace) {
		m.offReader.Store(0)
	}
	return false
}

// watchdog finds handlers stuck on their connection's reader. Its list
// holds the connections with inline runs since the last tick.
type watchdog struct {
	s    *Server
	list tickedList[*conn]
}

// add puts c on the list, starting the goroutine if needed; c.watched was
// set by the caller.
func (w *watchdog) add(c *conn) { w.list.add(c, w.loop) }

// loop ticks every inline grace period while connections are on the list.
func (w *watchdog) loop() {
	var now int64
	w.list.loop(w.s.inlineGrace,
		func() { now = time.Since(watchEpoch).Nanoseconds() },
		func(c **conn) bool { return w.look(*c, now) })
}

// watchEpoch is the origin of the watchdog's monotonic clock.
var watchEpoch = time.Now()

// look checks one connection at a tick (now, in ns since watchEpoch) and
// reports whether it stays on the list: it takes over reading when the
// inline run it saw at a look at least one grace period ago is still in
// progress, and drops a connection that reads and ran no handler inline
// since the previous look. Ticks can come close together (a ticker
// delivers a late tick and then the next one on time; on a busy machine
// the watchdog runs late), so the time between looks is measured, not
// assumed.
func (w *watchdog) look(c *conn, now int64) bool {
	runs := c.runs.Load()
	last := c.lastRuns.Swap(runs)
	if runs != last {
		c.lastSeen = now
	}
	if r := c.reader.Load(); r&readerInlineBit != 0 {
		if runs != last || now-c.lastSeen < int64(w.s.inlineGrace) {
			return true // a new run since the last look, or not one period yet
		}
		// The next generation reads, from a new goroutine.
		c.takenAt.Store(now)
		if c.reader.CompareAndSwap(r, (r|readerInlineBit)+1) {
			c.watched.Store(false)
			go w.s.takeOver(c)
			return false
		}
	}
	if runs != last {
		// Reading now, but it ran handlers since the last look: it stays
		// on the list. Dropped at every tick that finds it reading, a
		// connection at low load was added again by its next call,
		// which restarted the watchdog (a new goroutine, and a thread
		// woken for it) about once per period.
		return true
	}
	c.watched.Store(false)
	// An inline run may have started after the load above and seen c
	// still watched: look again now that it is not.
	return c.reader.Load()&readerInlineBit != 0 && c.watched.CompareAndSwap(false, true)
}

// takeOver continues reading c, whose reader is stuck in a handler.
func (s *Server) takeOver(c *conn) {
	if m := c.method.Load(); m != nil {
		m.offReader.Store(offReaderCalls)
	}
	s.stats.takeovers.Add(1)
	c.endBatch() // the replies of the stuck reader's batch
	s.readAndClose(c)
}

// endBatch ends the reader's batch (rbatch): the reader writes the queued
// replies itself when no request in flight still owes one (the floor's
// shape: answer what one read brought with one write, then read again),
// else a flush writes them or the last reply does. Only the current reader
// calls it.
func (c *conn) endBatch() {
	c.mu.Lock()
	c.rbatch = false
	var act writeAction
	var batch []outItem
	if len(c.queue) > 0 {
		act, batch = c.nextLocked(true)
	}
	c.mu.Unlock()
	c.run(act, batch)
}
