package server

import (
	"net"
	"runtime"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
)

// Writing replies.
//
// A connection has no writer goroutine of its own. Replies queue; the reply
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

// maxKeptWriteBuf is the largest encoding buffer a connection keeps.
const maxKeptWriteBuf = 1 << 20

// enqueue writes or queues it, or drops it when the connection is closed.
// Before the connection is known to speak the rpcx protocol (serveRPC)
// messages only queue.
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
	if it.done && c.rpc && !c.wbusy && !c.closing && c.queuedDone >= len(c.sem) {
		// Every request in flight has its reply queued: no other reply
		// is coming to share the write, so write them all now.
		c.writeInline() // unlocks mu
		return true
	}
	start := c.rpc && !c.flushing && !c.wbusy // an inline write in progress starts it when done
	if start {
		c.flushing = true
	}
	c.mu.Unlock()
	if start {
		c.startFlush()
	}
	return true
}

// takeQueue returns the queued items for writing and marks the write in
// progress; the caller holds mu and releases the batch with doneWriting.
func (c *conn) takeQueue() []outItem {
	batch := c.queue
	c.queue, c.spare = c.spare[:0], nil
	c.queuedDone = 0
	c.wbusy = true
	return batch
}

// doneWriting ends a write started by takeQueue; the caller holds mu.
func (c *conn) doneWriting(batch []outItem) {
	c.spare = batch[:0]
	c.wbusy = false
}

// writeInline writes everything queued on the caller's goroutine; the
// caller holds mu, checked that no write is in progress, and writeInline
// unlocks it. What is queued meanwhile goes to a flush (a flush scheduled
// before, which found this write in progress, left it to this one).
func (c *conn) writeInline() {
	batch := c.takeQueue()
	c.mu.Unlock()
	err := c.write(batch)
	c.mu.Lock()
	c.doneWriting(batch)
	start := !c.closed && !c.flushing && (len(c.queue) > 0 || c.closing)
	if start {
		c.flushing = true
	}
	c.mu.Unlock()
	if err != nil {
		log.Debugf("server: write to %s: %v", c.nc.RemoteAddr(), err)
		c.close()
		return
	}
	if start {
		c.startFlush()
	}
}

// startFlush runs flush on a pool worker; the caller set flushing. With a
// custom or bounded pool (whose workers may all be busy in handlers that
// wait for this very flush) or a stopped one, it gets its own goroutine.
func (c *conn) startFlush() {
	if w := c.s.workers; w != nil && w.submit(job{c: c, flush: true}) {
		return
	}
	go c.flush()
}

// flush writes what is queued, batch by batch, until the queue is empty;
// then it closes the connection if closeAfterFlush asked for it.
func (c *conn) flush() {
	if len(c.sem) > 1 {
		// Other requests of this connection are running: let them queue
		// their replies so that one write carries them all.
		runtime.Gosched()
	}
	for {
		c.mu.Lock()
		if c.closed {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		if c.wbusy { // an inline write: it starts a flush if one is needed
			c.flushing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.flushing = false
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.close()
			}
			return
		}
		batch := c.takeQueue()
		c.mu.Unlock()
		err := c.write(batch)
		c.mu.Lock()
		c.doneWriting(batch)
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
	idle := !c.flushing && !c.wbusy      // else the flush or inline write sees closing
	empty := len(c.queue) == 0 || !c.rpc // nothing is written to an HTTP connection
	if idle && !empty {
		c.flushing = true
	}
	c.mu.Unlock()
	switch {
	case idle && empty:
		c.close()
	case idle:
		c.startFlush()
	}
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
		if wt := c.s.writeTimeout; wt > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(wt))
		}
		if vec == nil {
			_, werr = c.nc.Write(buf)
		} else {
			if mark < len(buf) {
				vec = append(vec, buf[mark:])
			}
			_, werr = vec.WriteTo(c.nc)
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

// drop releases an item that will not be written.
func (c *conn) drop(it *outItem) {
	c.release(it)
}

// release frees an item's messages and completes its request.
func (c *conn) release(it *outItem) {
	if it.req != nil && it.req != it.msg {
		protocol.FreeMsg(it.req)
	}
	protocol.FreeMsg(it.msg)
	if it.kind == itemNotify {
		c.notifies.Add(-1)
		select {
		case c.roomCh <- struct{}{}:
		default:
		}
	}
	if it.done {
		c.finish()
	}
	*it = outItem{}
}

// finish completes one request of this connection.
func (c *conn) finish() {
	<-c.sem
	c.s.inflight.Add(-1)
}
