package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// itemKind says what a queued message is.
type itemKind uint8

const (
	itemResponse itemKind = iota
	itemHeartbeat
	itemNotify
	itemDrain
)

// outItem is one message waiting in a connection's write queue.
type outItem struct {
	msg  *protocol.Message
	req  *protocol.Message // freed after the write; nil: none
	ctx  *reqCtx           // for PostWriteResponse; nil: none
	kind itemKind
	done bool // completes a request: release gives its slot back after the write or drop
}

// conn is one served connection. Its reader goroutine (serveRPC, or the
// goroutine that took over reading, see conn_inline.go) owns the reading
// side; replies are written by their handler when alone, else by a flush
// run on a pool worker (conn_write.go).
//
// Who owns what (everything under mu is read and written with mu held):
//   - queue, queuedDone: appended by enqueue; taken whole by the goroutine
//     that holds the write (takeQueueLocked); dropped by close.
//   - wbusy: the write token. Set by nextLocked (inline write) or by flush
//     (takeQueueLocked), cleared by the same goroutine (doneWritingLocked).
//     wbuf and spare are used only by its holder.
//   - flushing: the flush token. Set only by nextLocked (actFlush); cleared
//     only by the flush goroutine that holds it, at the top of each round.
//   - rpc: set once by serveRPC; until then nothing is written.
//   - closing: set once by closeAfterFlush; the last write or flush closes.
//   - closed: set once by close, which drops the queue.
//   - sem: a request's slot, taken by the reader (readLoop) and given back
//     by releaseSlot (conn_write.go says from where).
//
// nextLocked is the one function that decides, from these, whether the
// queue is written inline, by a flush, or not yet, and whether to close.
type conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	ctx    context.Context // cancelled when the connection closes
	cancel context.CancelFunc
	sem    chan struct{} // slots of the requests in flight (readLoop takes, releaseSlot gives back)
	since  int64         // when the connection was accepted, Unix ns (read-only)
	src    reqSource     // ctx, s and nc for the ctx of its requests (read-only)

	lastST   atomic.Uint32                 // serialize type of the last request
	notifies atomic.Int32                  // queued notifications
	room     atomic.Pointer[chan struct{}] // signalled when a notification was written; made on first use (roomSignal)
	draining atomic.Bool

	mu         sync.Mutex
	queue      []outItem
	queuedDone int // items in queue that complete a request
	spare      []outItem
	closing    bool          // close once the queue is flushed
	closed     bool          // closed: nothing more is queued or written
	rpc        bool          // serves the rpcx protocol (else HTTP: nothing is written)
	flushing   bool          // the flush token: a flush is scheduled or running
	wbusy      bool          // the write token: a flush or an inline write is writing
	wbuf       []byte        // encoding buffer; used only by the holder of wbusy
	wdeadline  time.Time     // the write deadline last set (writeDeadline); used only by the holder of wbusy
	stop       chan struct{} // closed by close(); made on first use (stopChan)

	// The read side, owned by the connection's current reader: br is nil
	// while the connection is idle (see waitFrame in conn_idle.go), and
	// idleRead holds the bytes read on waking up that br has not taken.
	idleRead
	brShared bool // br reads more than the connection (CONNECT with bytes behind it): never pooled
	// readAt is when the reader took the frames it is decoding off the
	// network (see readLoop): every request of one read gets that time,
	// one clock read per read instead of per request.
	readAt time.Time

	// detached is set by serveHTTPConn, on the accepting goroutine, when
	// net/http takes the connection over: that goroutine then neither
	// untracks it nor releases its connWG count (serveHTTPConn's done does).
	detached bool
	httpOnce sync.Once     // httpDone
	ended    chan struct{} // closed by end when serveRPCWait waits for c; nil: c's last reader ends it

	inlineState
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.WithValue(s.baseCtx, RemoteConnContextKey, nc))
	c := &conn{
		s:      s,
		since:  time.Now().UnixNano(),
		nc:     nc,
		br:     newReader(nc),
		ctx:    ctx,
		cancel: cancel,
		sem:    make(chan struct{}, s.maxConnRequests),
	}
	c.src = reqSource{ctx: ctx, s: s, nc: nc}
	return c
}

// stopChan returns the channel close closes, making it on first use (most
// connections never need one).
func (c *conn) stopChan() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop == nil {
		c.stop = make(chan struct{})
		if c.closed {
			close(c.stop)
		}
	}
	return c.stop
}

// roomSignal returns the channel release signals when a notification was
// written, making it on first use (only a full notification queue needs
// it). It is safe for concurrent use.
func (c *conn) roomSignal() <-chan struct{} {
	if ch := c.room.Load(); ch != nil {
		return *ch
	}
	ch := make(chan struct{}, 1)
	if c.room.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *c.room.Load()
}

// waitSlot waits for a request slot when all of c's are taken; it reports
// false when c closed first.
func (c *conn) waitSlot() bool {
	select {
	case c.sem <- struct{}{}:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// close closes the connection at once: handler ctxs are cancelled, queued
// messages dropped. It is idempotent.
func (c *conn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	q := c.queue
	c.queue, c.queuedDone = nil, 0
	if c.stop != nil {
		close(c.stop)
	}
	c.mu.Unlock()
	c.cancel()
	c.nc.Close()
	for i := range q {
		c.drop(&q[i])
	}
}

// serveRPC serves the rpcx protocol on an accepted connection. It returns
// as soon as the connection is idle or another goroutine reads it: c is
// then detached, and its last reader ends it (see end).
func (s *Server) serveRPC(c *conn) {
	c.detached = true
	s.startRPC(c)
	s.readAndClose(c)
}

// serveRPCWait serves the rpcx protocol on c and returns once c is closed;
// the caller then ends it (a connection taken over from net/http).
func (s *Server) serveRPCWait(c *conn) {
	c.ended = make(chan struct{})
	s.startRPC(c)
	s.readAndClose(c)
	<-c.ended // a later reader may still be reading
}

// startRPC switches c to the rpcx protocol and writes the notifications
// queued before its first frame.
func (s *Server) startRPC(c *conn) {
	c.mu.Lock()
	c.rpc = true
	act, _ := c.nextLocked(false)
	c.mu.Unlock()
	c.run(act, nil)
}

// readAndClose reads c until it fails and then closes it, flushing queued
// responses where that is wanted; it returns at once when another
// goroutine reads now (see runInline and idleRead).
func (s *Server) readAndClose(c *conn) {
	s.finish(c, s.readLoop(c, false, nil))
}

// finish acts on why c's read loop returned: nothing when another
// goroutine reads now; else c is closed (after flushing its queue for
// exitFlush) and ended.
func (s *Server) finish(c *conn, exit loopExit) {
	if exit == exitHandedOff || exit == exitParked {
		return
	}
	if exit == exitFlush {
		c.cancel()
		stop := c.stopChan()
		c.closeAfterFlush()
		t := time.NewTimer(max(s.writeTimeout, time.Second))
		select {
		case <-stop:
		case <-t.C:
		}
		t.Stop()
	}
	c.close()
	s.end(c)
}

// end ends c after its last reader closed it: the goroutine that waits
// for it (serveRPCWait) is woken; an accepted connection is untracked and
// its connWG count released.
func (s *Server) end(c *conn) {
	if c.ended != nil {
		close(c.ended)
		return
	}
	s.untrackConn(c)
	s.connWG.Done()
}

// readLoop reads and dispatches frames until the connection fails, its
// wait is handed to a fresh goroutine (exitParked: idleRead continues) or
// a handler run inline outlives its grace period. resumed is set by
// idleRead: the deadline and the PreReadRequest of the first frame were
// done before the wait, and limitErr is that PreReadRequest's error.
func (s *Server) readLoop(c *conn, resumed bool, limitErr error) loopExit {
	deadlineSet := s.readTimeout > 0
	for {
		// fresh: the next frame was not in the buffers, so it is read from
		// the network now (by nextFrame or the decode), or it just was (an
		// idle connection resumed by idleRead).
		fresh := resumed || c.readAt.IsZero()
		if !resumed {
			fresh = fresh || c.br == nil || !c.frameBuffered()
			var exit loopExit
			var ok bool
			if limitErr, exit, ok = s.nextFrame(c, &deadlineSet); !ok {
				return exit
			}
		}
		resumed = false
		if s.frameTimeout > 0 && !c.frameBuffered() {
			_ = c.nc.SetReadDeadline(time.Now().Add(s.frameTimeout))
			deadlineSet = true
		}
		req := protocol.GetPooledMsg()
		if err := req.DecodeLimited(c.br, &s.limits); err != nil {
			if keep := s.badFrame(c, req, err); !keep {
				if errors.Is(err, protocol.ErrMessageTooLong) {
					return exitFlush
				}
				return exitClose
			}
			continue
		}
		if fresh {
			c.readAt = time.Now()
		}
		s.stats.requests.Add(1)
		c.lastST.Store(uint32(req.SerializeType()))
		if err := s.Plugins.DoPostReadRequest(c.ctx, req, nil); err != nil {
			s.replyError(c, req, err)
			continue
		}
		if limitErr != nil {
			s.replyError(c, req, limitErr)
			continue
		}
		if req.MessageType() != protocol.Request {
			log.Debugf("server: ignoring a response-type message from %s", c.nc.RemoteAddr())
			protocol.FreeMsg(req)
			continue
		}
		if req.IsHeartbeat() {
			s.heartbeat(c, req)
			continue
		}
		// A request slot (releaseSlot gives it back), counted in flight before the state is
		// read. Inline, not a helper: the call cost ~10 % at c=1000 in A/B runs.
		select {
		case c.sem <- struct{}{}:
		default:
			if !c.waitSlot() {
				protocol.FreeMsg(req)
				return exitClose
			}
		}
		s.inflight.Add(1)
		if st := s.state.Load(); st == stateClosed || (st == stateDraining && !req.IsOneway()) {
			s.refuse(c, req, ErrShuttingDown)
			continue
		}
		gate, ok := s.admit(c, req)
		if !ok { // over a concurrency limit: queued or refused
			continue
		}
		if s.inlineGrace > 0 && s.workers != nil {
			// Run it here (see runInline).
			if m := s.loadRegistry().lookup(req.ServicePath, req.ServiceMethod); inlineAllowed(m) {
				if !s.runInline(c, job{c: c, req: req, gate: gate, m: m, at: c.readAt}, m) {
					return exitHandedOff
				}
				continue
			}
		}
		s.dispatch(job{c: c, req: req, gate: gate, at: c.readAt})
	}
}

// nextFrame waits for the next frame: it writes the replies of the batch
// when reading may block, sets the read deadline and runs PreReadRequest
// first. It returns the PreReadRequest error to answer the next request
// with, or ok false and why reading stops here.
func (s *Server) nextFrame(c *conn, deadlineSet *bool) (limitErr error, exit loopExit, ok bool) {
	if c.rbatch && !c.frameBuffered() {
		c.endBatch() // reading may block: write what the batch answered
	}
	deadline := s.setReadDeadline(c, deadlineSet)
	limitErr = s.Plugins.DoPreReadRequest(c.ctx)
	if limitErr != nil && !errors.Is(limitErr, ErrReqReachLimit) {
		log.Debugf("server: closing connection from %s: %v", c.nc.RemoteAddr(), limitErr)
		return nil, exitClose, false
	}
	if err := c.waitFrame(deadline); err == errRecycle {
		// This goroutine's stack grew serving calls: a fresh one waits.
		go s.idleRead(c, limitErr, deadline, !s.sweeper.smallStart.Load())
		return nil, exitParked, false
	} else if err != nil {
		c.logReadError(err)
		return nil, exitClose, false
	}
	return limitErr, 0, true
}

// setReadDeadline sets the read deadline of the wait for the next frame
// (WithReadTimeout; none without) and returns it.
func (s *Server) setReadDeadline(c *conn, deadlineSet *bool) time.Time {
	if s.readTimeout > 0 {
		d := time.Now().Add(s.readTimeout)
		_ = c.nc.SetReadDeadline(d)
		*deadlineSet = true
		return d
	}
	if *deadlineSet {
		_ = c.nc.SetReadDeadline(time.Time{})
		*deadlineSet = false
	}
	return time.Time{}
}

// frameBuffered reports whether the whole next frame is already read: in
// c.br, or in the head bytes behind it that waitFrame read on waking up
// (after an idle wait c.br holds nothing yet and the frame is all in the
// head buffer). A header split between the two counts as not read.
func (c *conn) frameBuffered() bool {
	inBr, inHead := c.br.Buffered(), int(c.headW-c.headR)
	var hdr []byte
	switch {
	case inBr >= protocol.HeaderSize:
		hdr, _ = c.br.Peek(protocol.HeaderSize)
	case inBr == 0 && inHead >= protocol.HeaderSize:
		hdr = c.headBuf()[c.headR:c.headW]
	default:
		return false
	}
	n, _ := protocol.FrameLength(hdr)
	return inBr+inHead >= n
}

func (c *conn) logReadError(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrClosedPipe):
	case errors.As(err, &ne) && ne.Timeout():
		log.Debugf("server: closing idle connection from %s: %v", c.nc.RemoteAddr(), err)
	default:
		log.Debugf("server: read from %s: %v", c.nc.RemoteAddr(), err)
	}
}

// badFrame handles a frame that failed to decode. Frames whose body was
// read whole (too many metadata entries, payload inflating past the limit,
// unknown compressor) are answered with an error and the connection stays;
// any other error closes it. It reports whether to keep reading.
func (s *Server) badFrame(c *conn, req *protocol.Message, err error) bool {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		protocol.FreeMsg(req) // closed by us
		return false
	}
	s.stats.protocol.Add(1)
	switch {
	case errors.Is(err, protocol.ErrTooManyMetadata), errors.Is(err, protocol.ErrDecompressedTooLarge):
		log.Debugf("server: refusing request from %s: %v", c.nc.RemoteAddr(), err)
		s.replyError(c, req, withCode(share.CodeResourceExhausted, err))
		return true
	case errors.Is(err, protocol.ErrUnsupportedCompressor):
		log.Debugf("server: refusing request from %s: %v", c.nc.RemoteAddr(), err)
		s.replyError(c, req, withCode(share.CodeInvalidArgument, err))
		return true
	case errors.Is(err, protocol.ErrMessageTooLong):
		log.Warnf("server: closing connection from %s: %v", c.nc.RemoteAddr(), err)
		s.replyError(c, req, withCode(share.CodeResourceExhausted, err))
		return false
	}
	log.Warnf("server: closing connection from %s: %v", c.nc.RemoteAddr(), err)
	protocol.FreeMsg(req)
	return false
}

// heartbeat answers a heartbeat with the same message ID and payload.
func (s *Server) heartbeat(c *conn, req *protocol.Message) {
	s.stats.heartbeats.Add(1)
	_ = s.Plugins.DoHeartbeatRequest(c.ctx, req)
	if req.IsOneway() {
		protocol.FreeMsg(req)
		return
	}
	req.SetMessageType(protocol.Response)
	c.enqueue(outItem{msg: req, kind: itemHeartbeat})
}

// dispatch runs j's request on the worker pool.
func (s *Server) dispatch(j job) {
	if s.workers != nil {
		if !s.workers.submit(j) {
			s.dropJob(j)
		}
		return
	}
	s.pool.Submit(func() { s.serveRequest(j) })
}

// dropJob ends a request whose pool is stopped.
func (s *Server) dropJob(j job) {
	j.c.endNoReply(j.req)
}
