package server

import (
	"io"
	"net"
	"runtime"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
)

// Writing replies.
//
// A connection has no writer goroutine of its own. Replies to requests run
// on the reader queue until the reader ends its batch (endBatch in
// conn_inline.go) and writes them itself; meanwhile nextLocked writes
// nothing. Otherwise replies queue; the reply
// that completes the set of requests in flight on its connection (the only
// one, or the last of a burst to finish) writes everything queued on its
// handler's goroutine, as no other reply could join that write. Otherwise
// the first reply queued schedules a flush on a pool worker: the flush lets
// the other running handlers add their replies, then encodes everything
// queued into one buffer and writes it with one Write, until the queue is
// empty; if it finds an inline write in progress it leaves the queue to
// that write. So a burst of replies costs one syscall without waiting for
// the flush to be scheduled, and an idle connection holds one goroutine
// (its reader), not two.
//
// One function, nextLocked, makes every decision about the queue (write it
// inline, start a flush, close the connection, or nothing) and claims what
// the decision needs before mu is released; its callers only carry it out
// (run). The flags it reads are owned as the comment on conn says.
//
// A request's slot (conn.sem, and the server's in-flight count) is taken by
// the reader (readLoop) and given back by releaseSlot, called from three
// places only: release, when the reply item that completes the request has
// been written or dropped, and endNoReply, for a request that gets no reply
// (oneway, or dropped with its pool); refuse gives it back at once for a
// request answered with an error without running (server shutting down,
// overloaded).

// maxKeptWriteBuf is the largest encoding buffer a connection keeps.
const maxKeptWriteBuf = 1 << 20

// writeAction is what the caller of nextLocked does once it unlocks mu.
type writeAction uint8

const (
	actNone   writeAction = iota // a write or flush in progress (or none needed) takes care of the queue
	actInline                    // write the batch nextLocked took, on the caller's goroutine
	actFlush                     // start a flush (the caller of flush: go on flushing)
	actClose                     // close the connection: closing was asked and nothing is left to write
)

// nextLocked decides what happens to the queue and claims it: for actInline
// it takes the queue into batch and marks the write in progress (wbusy),
// for actFlush it marks the flush scheduled (flushing). lastDone says the
// caller just queued a reply that completes its request: only then may the
// caller write inline, when every request in flight has its reply queued
// (no other reply is coming to share the write); endBatch passes it too,
// holding no request of its own. The caller holds mu.
func (c *conn) nextLocked(lastDone bool) (act writeAction, batch []outItem) {
	switch {
	case c.closed || c.wbusy:
		// The write in progress asks again when it ends.
		return actNone, nil
	case !c.rpc:
		// Nothing is written to a connection not (yet) known to speak
		// the rpcx protocol: serveRPC asks again once it is.
		if c.closing {
			return actClose, nil
		}
		return actNone, nil
	case c.rbatch && !c.closing:
		// The reader writes at the end of its batch (endBatch).
		return actNone, nil
	case lastDone && !c.closing && c.queuedDone >= len(c.sem):
		return actInline, c.takeQueueLocked()
	case c.flushing:
		// The flush scheduled or running writes what is queued.
		return actNone, nil
	case len(c.queue) > 0:
		c.flushing = true
		return actFlush, nil
	case c.closing:
		return actClose, nil
	}
	return actNone, nil
}

// run carries out what nextLocked decided; the caller no longer holds mu.
func (c *conn) run(act writeAction, batch []outItem) {
	switch act {
	case actInline:
		c.writeInline(batch)
	case actFlush:
		c.startFlush()
	case actClose:
		c.close()
	}
}

// enqueue queues it and lets nextLocked decide who writes it; it drops it
// (and reports false) when the connection is closed.
func (c *conn) enqueue(it outItem) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.drop(&it)
		return false
	}
	c.queue = append(c.queue, it)
	if it.done {
		c.queuedDone++
	}
	act, batch := c.nextLocked(it.done)
	c.mu.Unlock()
	c.run(act, batch)
	return true
}

// takeQueueLocked returns the queued items for writing and marks the write
// in progress; the caller holds mu and ends the write with
// doneWritingLocked.
func (c *conn) takeQueueLocked() []outItem {
	batch := c.queue
	c.queue, c.spare = c.spare[:0], nil
	c.queuedDone = 0
	c.wbusy = true
	return batch
}

// doneWritingLocked ends a write started by takeQueueLocked; the caller
// holds mu.
func (c *conn) doneWritingLocked(batch []outItem) {
	c.spare = batch[:0]
	c.wbusy = false
}

// writeInline writes batch (taken by nextLocked) on the caller's goroutine;
// what was queued meanwhile goes to a flush (a flush scheduled before,
// which found this write in progress, left it to this one).
func (c *conn) writeInline(batch []outItem) {
	err := c.write(batch)
	c.mu.Lock()
	c.doneWritingLocked(batch)
	act, _ := c.nextLocked(false) // never actInline
	c.mu.Unlock()
	if err != nil {
		log.Debugf("server: write to %s: %v", c.nc.RemoteAddr(), err)
		c.close()
		return
	}
	c.run(act, nil)
}

// startFlush runs flush on a pool worker; nextLocked set flushing. With a
// custom or bounded pool (whose workers may all be busy in handlers that
// wait for this very flush) or a stopped one, it gets its own goroutine.
func (c *conn) startFlush() {
	if w := c.s.workers; w != nil && w.submit(job{c: c, flush: true}) {
		return
	}
	go c.flush()
}

// flush writes what is queued, batch by batch, until nextLocked finds
// nothing more for it; it closes the connection when closeAfterFlush asked
// for that and the queue is empty. It holds the flush (flushing) from
// nextLocked until the iteration that gives it back.
func (c *conn) flush() {
	if len(c.sem) > 1 {
		// Other requests of this connection are running: let them queue
		// their replies so that one write carries them all.
		runtime.Gosched()
	}
	for {
		c.mu.Lock()
		c.flushing = false // give the flush back; nextLocked takes it again if more is queued
		act, _ := c.nextLocked(false)
		var batch []outItem
		if act == actFlush {
			batch = c.takeQueueLocked()
		}
		c.mu.Unlock()
		if act != actFlush {
			c.run(act, nil)
			return
		}
		err := c.write(batch)
		c.mu.Lock()
		c.doneWritingLocked(batch)
		c.mu.Unlock()
		if err != nil {
			log.Debugf("server: write to %s: %v", c.nc.RemoteAddr(), err)
			c.close()
			return
		}
	}
}

// closeAfterFlush closes the connection once its queue is written.
func (c *conn) closeAfterFlush() {
	c.mu.Lock()
	c.closing = true
	act, _ := c.nextLocked(false)
	c.mu.Unlock()
	c.run(act, nil)
}

// write encodes batch into the connection's buffer and writes it with one
// Write, or one writev when payloads of protocol.LargePayload bytes or more
// are sent from where they lie instead of being copied; then it runs the
// PostWriteResponse hooks and releases the items. The caller holds the
// write (wbusy).
func (c *conn) write(batch []outItem) error {
	buf := c.wbuf[:0]
	var vec net.Buffers // nil: no large payload
	mark := 0           // buf[mark:] is not in vec yet
	for i := range batch {
		it := &batch[i]
		n := len(buf)
		var payload []byte
		var err error
		if buf, payload, err = it.msg.AppendHead(buf); err != nil {
			buf = buf[:n]
			log.Warnf("server: encode message %d for %s: %v", it.msg.Seq(), c.nc.RemoteAddr(), err)
			continue
		}
		if len(payload) < protocol.LargePayload {
			buf = append(buf, payload...)
			continue
		}
		vec = append(vec, buf[mark:len(buf):len(buf)], payload)
		mark = len(buf)
	}
	var werr error
	if len(buf) > 0 || vec != nil {
		c.writeDeadline()
		if vec == nil {
			_, werr = c.nc.Write(buf)
		} else {
			if mark < len(buf) {
				vec = append(vec, buf[mark:])
			}
			werr = writeBuffers(c.nc, vec)
		}
	}
	if cap(buf) <= maxKeptWriteBuf {
		c.wbuf = buf[:0]
	} else {
		c.wbuf = nil // do not pin a large buffer
	}
	for i := range batch {
		it := &batch[i]
		if it.ctx != nil && it.kind == itemResponse {
			_ = c.s.Plugins.DoPostWriteResponse(it.ctx, it.req, it.msg, werr)
		}
		c.release(it)
	}
	return werr
}

// writeBuffers writes vec with one writev. Its own function so that only
// this rare path pays for vec escaping (WriteTo takes a pointer, which
// would move write's vec to the heap at every write); not inlined, or
// the escape would move back into write.
//
//go:noinline
func writeBuffers(w io.Writer, vec net.Buffers) error {
	_, err := vec.WriteTo(w)
	return err
}

// writeSlack sets how far beyond the write timeout a write deadline is
// put (timeout / writeSlack), so that it need not be moved at every write.
const writeSlack = 4 // a quarter of the timeout

// writeDeadline makes sure the write about to start has at least the
// server's write timeout to finish, and at most a quarter more: it moves
// the deadline (to now + 1.25 × the timeout) only when less than the
// timeout is left, so a connection writing often sets it about once per
// quarter timeout instead of at every write (each set re-arms a runtime
// timer). The caller holds the write (wbusy).
func (c *conn) writeDeadline() {
	wt := c.s.writeTimeout
	if wt <= 0 {
		return
	}
	now := time.Now()
	if c.wdeadline.Sub(now) >= wt {
		return
	}
	c.wdeadline = now.Add(wt + wt/writeSlack)
	_ = c.nc.SetWriteDeadline(c.wdeadline)
}

// drop releases an item that will not be written.
func (c *conn) drop(it *outItem) {
	c.release(it)
}

// release frees an item's messages and, for the reply that completes its
// request, the request's slot.
func (c *conn) release(it *outItem) {
	if it.req != nil && it.req != it.msg {
		protocol.FreeMsg(it.req)
	}
	protocol.FreeMsg(it.msg)
	if it.kind == itemNotify {
		c.notifies.Add(-1)
		if room := c.room.Load(); room != nil { // after the count: see SendMessage's wait
			select {
			case *room <- struct{}{}:
			default:
			}
		}
	}
	if it.done {
		c.releaseSlot()
	}
	*it = outItem{}
}

// refuse answers a request that holds a slot with err without running it:
// the slot is given back at once and the error reply queued (replyError).
func (s *Server) refuse(c *conn, req *protocol.Message, err error) {
	c.releaseSlot()
	s.replyError(c, req, err)
}

// endNoReply ends a request that gets no reply: it frees req and gives its
// slot back.
func (c *conn) endNoReply(req *protocol.Message) {
	protocol.FreeMsg(req)
	c.releaseSlot()
}

// releaseSlot gives back one request's slot; release, endNoReply and
// refuse are its only callers.
func (c *conn) releaseSlot() {
	<-c.sem
	c.s.inflight.Add(-1)
}
