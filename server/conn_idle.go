package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
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
	head         []byte
	headPooled   *[]byte // head's pooled buffer, nil when head is the small one (or none)
	headR, headW int
	small        *[idleReadSize]byte // the non-raw head, allocated on first use

	rawChecked bool
	raw        syscall.RawConn
	rawFn      func(fd uintptr) bool // rawRead, bound once
	rawN       int
	rawErr     error
}

// headReader is the source of a connection's pooled reader: the bytes
// waitFrame read into the head buffer, then the connection.
type headReader struct{ c *conn }

// Read serves the head buffer first, then reads the connection. A pooled
// head goes back to its pool once drained.
func (h headReader) Read(p []byte) (int, error) {
	c := h.c
	if c.headR < c.headW {
		n := copy(p, c.head[c.headR:c.headW])
		c.headR += n
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
	c.head = nil
	c.headR, c.headW = 0, 0
}

// waitFrame returns once the connection has bytes to decode in c.br. When
// c.br holds none (and no head bytes wait behind it), the connection is
// idle: its read buffer goes back to the pool and the reader blocks
// without one (plain TCP/Unix) or on a read into the small head buffer;
// when bytes arrive it takes a pooled buffer again. A reader that also
// reads bytes from elsewhere (brShared) is kept and peeked. Only the
// connection's current reader calls it (it owns c.br and idleRead).
func (c *conn) waitFrame() error {
	if c.brShared {
		_, err := c.br.Peek(1)
		return err
	}
	if c.br != nil {
		if c.br.Buffered() > 0 || c.headR < c.headW {
			return nil // bytes wait in br or behind it
		}
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
	if err := c.wake(); err != nil {
		return err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(headReader{c})
	c.br = br
	return nil
}

// wake blocks until bytes arrive and leaves them in the head buffer.
func (c *conn) wake() error {
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
	if c.raw != nil {
		c.rawN, c.rawErr = 0, nil
		if err := c.raw.Read(c.rawFn); err != nil {
			return err
		}
		if c.rawErr != nil || c.rawN == 0 {
			c.dropHead()
			if c.rawErr == nil {
				return io.EOF
			}
			return c.rawErr
		}
		c.head, c.headR, c.headW = (*c.headPooled)[:c.rawN], 0, c.rawN
		return nil
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
	c.head, c.headR, c.headW = c.small[:n], 0, n
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
			c.rawN = n
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
