package client

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/courier-rpc/courier/protocol"
)

// readBufs is the free list of connection read buffers (ReaderBuffsize
// each), shared by every connection and bounded (64 buffers, 1 MiB). It is
// a channel rather than a sync.Pool: a reader gives its buffer back before
// parking and takes one after waking, usually on another P, and a
// sync.Pool keeps a lone returned item in the returning P's private slot,
// where the other P cannot take it (it would allocate and zero a new buffer
// per read instead).
var readBufs = make(chan *[]byte, 64)

func getReadBuf() *[]byte {
	select {
	case b := <-readBufs:
		return b
	default:
		b := make([]byte, ReaderBuffsize)
		return &b
	}
}

func putReadBuf(b *[]byte) {
	select {
	case readBufs <- b:
	default: // enough kept: let the collector have it
	}
}

// idleMsgs is the free list of the messages readers decode into, for the
// same reason as readBufs.
var idleMsgs = make(chan *protocol.Message, 64)

func getReaderMsg() *protocol.Message {
	select {
	case m := <-idleMsgs:
		return m
	default:
		return protocol.GetPooledMsg()
	}
}

func putReaderMsg(m *protocol.Message) {
	if cap(m.PayloadBuffer()) > ReaderBuffsize { // a big frame's buffer goes to protocol's pools
		protocol.FreeMsg(m)
		return
	}
	m.Reset()
	select {
	case idleMsgs <- m:
	default:
		protocol.FreeMsg(m)
	}
}

// connReader is the buffered reader of a Client's connection, used only by
// its reader goroutine. On a plain TCP or Unix connection it holds a read
// buffer only while bytes are buffered or arriving: when the buffer is
// drained and the socket has nothing more, the buffer goes back to a pool
// and the goroutine waits for readability without one, so an idle
// connection costs no read buffer. Other connections (TLS, in-process,
// wrapped by a plugin) keep one buffer, read through their own Read.
type connReader struct {
	conn net.Conn
	raw  syscall.RawConn // nil: read through conn.Read
	buf  *[]byte         // nil while idle (raw only)
	r, w int             // unread bytes are (*buf)[r:w]

	// fill's state, kept here so that the callback given to raw.Read is
	// made once instead of allocated per read.
	readFn func(fd uintptr) bool
	n      int
	err    error
}

func newConnReader(conn net.Conn) *connReader {
	cr := &connReader{conn: conn}
	switch c := conn.(type) { // exact types: a wrapper's Read must be honoured
	case *net.TCPConn:
		cr.raw, _ = c.SyscallConn()
	case *net.UnixConn:
		cr.raw, _ = c.SyscallConn()
	}
	if cr.raw != nil {
		cr.readFn = cr.rawRead
	} else {
		cr.buf = getReadBuf()
	}
	return cr
}

// Read implements io.Reader as bufio.Reader does: from the buffer when it
// holds bytes, straight into p when p is at least a buffer long, else
// after one read into the buffer.
func (cr *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if cr.r == cr.w {
		if len(p) >= ReaderBuffsize {
			return cr.conn.Read(p)
		}
		if err := cr.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*cr.buf)[cr.r:cr.w])
	cr.r += n
	return n, nil
}

// wait returns once at least one byte is buffered (reading when none is).
func (cr *connReader) wait() error {
	if cr.r < cr.w {
		return nil
	}
	return cr.fill()
}

// buffered returns the number of bytes read but not consumed.
func (cr *connReader) buffered() int { return cr.w - cr.r }

// fill reads once into the empty buffer.
func (cr *connReader) fill() error {
	cr.r, cr.w = 0, 0
	if cr.raw == nil {
		n, err := cr.conn.Read(*cr.buf)
		cr.w = n
		if n > 0 {
			return nil
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	cr.n, cr.err = 0, nil
	if err := cr.raw.Read(cr.readFn); err != nil {
		return err
	}
	cr.w = cr.n
	if cr.err != nil {
		return cr.err
	}
	if cr.n == 0 {
		return io.EOF
	}
	return nil
}

// rawRead is the callback of raw.Read: one read(2) into the buffer. When
// the socket has nothing yet, the buffer is released and false makes the
// runtime wait for readability (honouring the read deadline) and call
// again.
func (cr *connReader) rawRead(fd uintptr) bool {
	if cr.buf == nil {
		cr.buf = getReadBuf()
	}
	for {
		n, err := syscall.Read(int(fd), *cr.buf)
		switch {
		case err == nil:
			cr.n = n
			return true
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			putReadBuf(cr.buf)
			cr.buf = nil
			return false
		}
		cr.err = os.NewSyscallError("read", err)
		return true
	}
}

// release returns the buffer to the pool; the reader is not used again.
func (cr *connReader) release() {
	if cr.buf != nil {
		putReadBuf(cr.buf)
		cr.buf = nil
	}
}
