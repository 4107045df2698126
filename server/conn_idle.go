package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// idleReadSize is how many bytes an idle connection that is not a plain
// TCP or Unix socket (TLS, in-process, wrapped by a plugin) reads into its
// own small head buffer when it wakes up (see waitFrame). A frame that
// fits is decoded from these bytes with no further read; a longer one
// costs one more read than it would through a full buffer.
const idleReadSize = 512

// readers pools the read buffers of connections: a connection holds one
// only while it has bytes to decode, so an idle connection holds none.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// heads pools the wake-up buffers of plain TCP and Unix connections: the
// first read after an idle wait goes into one (a whole readBufferSize, so
// a frame of that size needs no second read) and it goes back to the pool
// as soon as its bytes have moved into the connection's reader.
var heads = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// idleRead is the read side of a connection while it waits for bytes,
// owned by the connection's current reader.
//
// A plain TCP or Unix connection (raw != nil) waits for readability with
// no buffer at all: rawRead reads into a pooled head buffer, and on EAGAIN
// gives it back and lets the runtime wait. Other connections read into a
// small head buffer of their own. Either way head[headR:headW] are bytes
// read on waking up that the connection's reader has not taken yet.
type idleRead struct {
	headPooled   *[]byte             // the pooled head buffer, or nil
	small        *[idleReadSize]byte // the non-raw head buffer, allocated on first use
	headR, headW int32               // the head bytes are headBuf()[headR:headW]

	raw    syscall.RawConn
	rawFn  func(fd uintptr) bool // rawRead, bound once
	rawErr error

	park       atomic.Uint64 // waitRaw's waits, counted in steps of parkStep, and flags (conn_sweep.go)
	swept      atomic.Bool   // on the sweeper's list
	rawChecked bool
}

// headReader is the source of a connection's pooled reader: the bytes
// waitFrame read into the head buffer, then the connection.
type headReader struct{ c *conn }

// Read serves the head buffer first, then reads the connection. A pooled
// head goes back to its pool once drained.
func (h headReader) Read(p []byte) (int, error) {
	c := h.c
	if c.headR < c.headW {
		n := copy(p, c.headBuf()[c.headR:c.headW])
		c.headR += int32(n)
		if c.headR == c.headW {
			c.dropHead()
		}
		return n, nil
	}
	return c.nc.Read(p)
}

// dropHead forgets the head bytes (all consumed) and pools a pooled head.
func (c *conn) dropHead() {
	if c.headPooled != nil {
		heads.Put(c.headPooled)
		c.headPooled = nil
	}
	c.headR, c.headW = 0, 0
}

// headBuf returns the buffer that holds the head bytes.
func (c *conn) headBuf() []byte {
	if c.headPooled != nil {
		return *c.headPooled
	}
	return c.small[:]
}

// Idle connections.
//
// A goroutine's stack grows while it serves calls (decoding, a handler
// run inline, the reply's encoding), and the runtime gives a grown stack
// back only in halves while little of it is in use, which never takes it
// back to the minimum: a reader that served a call and then waits keeps
// 4 KiB or more. Starting a fresh goroutine at every wait would cost a
// stack growth per call, so a plain TCP or Unix connection's reader waits
// where it is (waitFrame), and the server's sweeper (conn_sweep.go) ends
// a wait that has lasted a sweep period: the reader then starts idleRead,
// which waits in a few shallow frames with no read buffer, and exits. New
// goroutines start with the average stack depth the collector sees, so
// shallow waiters also keep later goroutines small. idleRead becomes the
// reader when bytes arrive. Other connections (TLS, in-process, wrapped by
// a plugin) keep waiting on their reader, with a small head buffer.

// errRecycle is waitFrame's answer when the sweeper ended the wait: the
// caller hands the wait to idleRead.
var errRecycle = errors.New("server: idle wait handed to a fresh goroutine")

// idleRead waits for the next bytes of an idle connection on a goroutine
// of its own (see errRecycle), then reads the connection as its reader.
// deadline is the read deadline of the wait (zero: none), limitErr the
// PreReadRequest error for the next frame (see readLoop), and big says
// that new goroutines started with more than the minimal stack when this
// one was started: the sweeper then hands its wait on again once they no
// longer do.
func (s *Server) idleRead(c *conn, limitErr error, deadline time.Time, big bool) {
	_ = c.nc.SetReadDeadline(deadline)
	var err error
	if big {
		err = c.waitRaw(deadline, parkShallow)
	} else {
		err = c.readRaw()
	}
	if err == errRecycle {
		go s.idleRead(c, limitErr, deadline, !s.sweeper.smallStart.Load())
		return
	}
	if err != nil {
		c.logReadError(err)
		s.finish(c, exitClose)
		return
	}
	s.finish(c, s.readLoop(c, true, limitErr))
}

// pending reports whether bytes wait in c.br or behind it.
func (c *conn) pending() bool {
	return c.headR < c.headW || (c.br != nil && c.br.Buffered() > 0)
}

// releaseReader gives c.br, which holds nothing, back to the pool.
func (c *conn) releaseReader() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
}

// takeReader takes a pooled reader that serves the head bytes first.
func (c *conn) takeReader() {
	br := readers.Get().(*bufio.Reader)
	br.Reset(headReader{c})
	c.br = br
}

// waitFrame returns once the connection has bytes to decode in c.br. When
// c.br holds none (and no head bytes wait behind it), the connection is
// idle: its read buffer goes back to the pool and the reader blocks
// without one (plain TCP/Unix, see waitRaw) or on a read into the small
// head buffer; when bytes arrive it takes a pooled buffer again. A reader
// that also reads bytes from elsewhere (brShared) is kept and peeked.
// deadline is the read deadline set for the wait (zero: none). Only the
// connection's current reader calls it (it owns c.br and idleRead).
func (c *conn) waitFrame(deadline time.Time) error {
	if c.brShared {
		_, err := c.br.Peek(1)
		return err
	}
	if c.pending() {
		return nil
	}
	c.releaseReader()
	if c.rawConn() == nil {
		return c.wake()
	}
	return c.waitRaw(deadline, 0)
}

// waitRaw waits for bytes on a plain TCP or Unix connection, marked in
// c.park (with flags, 0 or parkShallow) so that the sweeper can end the
// wait once it has lasted a sweep period: it then returns errRecycle, or,
// when bytes came meanwhile, puts deadline back and returns nil.
func (c *conn) waitRaw(deadline time.Time, flags uint64) error {
	if !c.swept.Load() && c.swept.CompareAndSwap(false, true) {
		c.s.sweeper.add(c)
	}
	p := (c.park.Load() | (parkStep - 1)) + 1 | parkWait | flags // the next wait
	c.park.Store(p)
	err := c.readRaw()
	if c.park.CompareAndSwap(p, p&^parkWait) {
		return err
	}
	// The sweeper ended the wait: c.mu waits for it to be done with the
	// deadline. The connection is idle: its write buffers go too.
	c.mu.Lock()
	c.dropWriteBuffersLocked()
	c.mu.Unlock()
	c.park.Store(p &^ (parkWait | parkRecycle | parkShallow))
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		_ = c.nc.SetReadDeadline(deadline)
		return err
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return err // the connection's own read deadline passed too
	}
	return errRecycle
}

// wake blocks until bytes arrive and leaves them in the head buffer, with
// a pooled reader in c.br to serve them.
func (c *conn) wake() error {
	if c.rawConn() != nil {
		return c.readRaw()
	}
	if c.small == nil {
		c.small = new([idleReadSize]byte)
	}
	n, err := c.nc.Read(c.small[:])
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	c.headR, c.headW = 0, int32(n)
	c.takeReader()
	return nil
}

// dropWriteBuffersLocked lets the write buffers of an idle connection go
// (the next write makes them again) unless a write or flush holds them or
// items are queued. The caller holds c.mu.
func (c *conn) dropWriteBuffersLocked() {
	if c.wbusy || c.flushing || len(c.queue) > 0 {
		return
	}
	c.wbuf, c.queue, c.spare = nil, nil, nil
}

// rawConn returns the raw socket of a plain TCP or Unix connection, or
// nil for any other connection.
func (c *conn) rawConn() syscall.RawConn {
	if !c.rawChecked {
		c.rawChecked = true
		switch nc := c.nc.(type) { // exact types: a wrapper's Read must be honoured
		case *net.TCPConn:
			c.raw, _ = nc.SyscallConn()
		case *net.UnixConn:
			c.raw, _ = nc.SyscallConn()
		}
		if c.raw != nil {
			c.rawFn = c.rawRead
		}
	}
	return c.raw
}

// readRaw blocks until bytes arrive on the socket, reads them into a
// pooled head buffer and gives c a pooled reader serving them.
func (c *conn) readRaw() error {
	c.headR, c.headW, c.rawErr = 0, 0, nil
	if err := c.raw.Read(c.rawFn); err != nil {
		return err
	}
	if c.rawErr != nil || c.headW == 0 {
		c.dropHead()
		if c.rawErr == nil {
			return io.EOF
		}
		return c.rawErr
	}
	c.takeReader()
	return nil
}

// rawRead is the callback of raw.Read: one read(2) into a pooled head
// buffer. When the socket has nothing yet, the buffer goes back to the
// pool and false makes the runtime wait for readability (honouring the
// read deadline) and call again.
func (c *conn) rawRead(fd uintptr) bool {
	if c.headPooled == nil {
		c.headPooled = heads.Get().(*[]byte)
	}
	for {
		n, err := syscall.Read(int(fd), *c.headPooled)
		switch {
		case err == nil:
			c.headW = int32(n)
			return true
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			heads.Put(c.headPooled)
			c.headPooled = nil
			return false
		}
		c.rawErr = os.NewSyscallError("read", err)
		return true
	}
}
