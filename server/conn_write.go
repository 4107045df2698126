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
// A connection has no writer goroutine of its own. A reply that is the only
// request in flight on its connection is written by the handler's goroutine
// (no other reply could share its write). Otherwise replies queue, and the
// first one queued schedules a flush on a pool worker: the flush lets the
// other running handlers add their replies, then encodes everything queued
// into one buffer and writes it with one Write, until the queue is empty.
// So a burst of replies costs one syscall, and an idle connection holds one
// goroutine (its reader), not two.

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
	if it.done && c.rpc && len(c.queue) == 0 && !c.wbusy && !c.flushing && !c.closing && len(c.sem) <= 1 {
		c.wbusy = true
		c.mu.Unlock()
		c.writeInline(&it)
		return true
	}
	c.queue = append(c.queue, it)
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

// writeInline writes one reply on the caller's goroutine; the caller set
// wbusy under mu. What was queued meanwhile goes to a flush.
func (c *conn) writeInline(it *outItem) {
	batch := [1]outItem{*it}
	err := c.write(batch[:])
	c.mu.Lock()
	c.wbusy = false
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
		batch := c.queue
		if len(batch) == 0 {
			c.flushing = false
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.close()
			}
			return
		}
		c.queue, c.spare = c.spare[:0], nil
		c.wbusy = true
		c.mu.Unlock()
		err := c.write(batch)
		c.mu.Lock()
		c.spare = batch[:0]
		c.wbusy = false
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
