package server

import (
	"bufio"
	"io"
	"sync"
)

// idleReadSize is how many bytes an idle connection reads into its own
// small head buffer when it wakes up (see waitFrame). A frame that fits is
// decoded from these bytes with no further read; a longer one costs one
// more read than it would through a full buffer.
const idleReadSize = 512

// readers pools the read buffers of connections: a connection holds one
// only while it has bytes to decode, so an idle connection holds none.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// headReader is the source of a connection's pooled reader: the bytes
// waitFrame read into the head buffer, then the connection.
type headReader struct{ c *conn }

// Read serves the head buffer first, then reads the connection.
func (h headReader) Read(p []byte) (int, error) {
	c := h.c
	if c.headR < c.headW {
		n := copy(p, c.head[c.headR:c.headW])
		c.headR += n
		return n, nil
	}
	return c.nc.Read(p)
}

// waitFrame returns once the connection has bytes to decode in c.br. When
// c.br holds none, the connection is idle: its read buffer goes back to
// the pool and the reader blocks on a read into the small head buffer;
// when bytes arrive it takes a pooled buffer again. A reader that also
// reads bytes from elsewhere (brShared) is kept and peeked. Only the connection's
// current reader calls it (it owns c.br and the head buffer).
func (c *conn) waitFrame() error {
	if c.brShared {
		_, err := c.br.Peek(1)
		return err
	}
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return nil
		}
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
	if c.head == nil {
		c.head = new([idleReadSize]byte)
	}
	n, err := c.nc.Read(c.head[:])
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	c.headR, c.headW = 0, n
	br := readers.Get().(*bufio.Reader)
	br.Reset(headReader{c})
	c.br = br
	return nil
}
