package fw

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"

	"github.com/courier-rpc/courier/benchmarks/pb"
	"google.golang.org/protobuf/proto"
)

// The floor is a framework-free protobuf echo over the same sockets: the
// physical limit the frameworks are measured against. A frame is a 4-byte
// big-endian length (of what follows), an 8-byte call ID and the protobuf
// message. The server runs one goroutine per connection that reads a frame,
// runs the handler inline and appends the reply to a write buffer, which it
// writes when no further request is already buffered (group commit). The
// client multiplexes its callers on one connection: a caller appends its
// frame and, when no write is in progress, writes everything queued itself
// (so concurrent callers share write calls); one reader goroutine hands each
// reply to its caller through a buffered channel. A caller that becomes the
// writer while other calls are in flight yields the processor once first, so
// that the callers already runnable queue their frames into the same write.

const (
	floorHead     = 12       // length + ID
	floorReadBuf  = 16 << 10 // buffered reader of either side
	floorMaxFrame = 64 << 20 // refuse larger frames instead of allocating them
	floorMaxKept  = 1 << 20  // write buffers above this are not kept
)

var errFloorFrame = errors.New("floor: bad frame length")

// readFloorFrame reads one frame into buf (grown as needed) and returns
// the frame's ID and body.
func readFloorFrame(br *bufio.Reader, buf []byte) (uint64, []byte, error) {
	var head [floorHead]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return 0, buf, err
	}
	n := binary.BigEndian.Uint32(head[:4])
	if n < 8 || n > floorMaxFrame {
		return 0, buf, fmt.Errorf("%w: %d", errFloorFrame, n)
	}
	size := int(n) - 8
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(br, buf); err != nil {
		return 0, buf, err
	}
	return binary.BigEndian.Uint64(head[4:]), buf, nil
}

// appendFloorFrame appends the frame of m with ID id to dst.
func appendFloorFrame(dst []byte, id uint64, m *pb.BenchmarkMessage) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, floorHead)...)
	dst, err := proto.MarshalOptions{}.MarshalAppend(dst, m)
	if err != nil {
		return dst[:start], err
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	binary.BigEndian.PutUint64(dst[start+4:], id)
	return dst, nil
}

// floorServer accepts connections and serves each on its own goroutine.
type floorServer struct {
	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func (s *floorServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

func (s *floorServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReaderSize(c, floorReadBuf)
	var body, out []byte
	args, reply := new(pb.BenchmarkMessage), new(pb.BenchmarkMessage)
	for {
		id, b, err := readFloorFrame(br, body)
		body = b
		if err != nil {
			return
		}
		if err := proto.Unmarshal(body, args); err != nil {
			return
		}
		pb.Echo(args, reply)
		if out, err = appendFloorFrame(out, id, reply); err != nil {
			return
		}
		if br.Buffered() > 0 && len(out) < floorReadBuf {
			continue // more requests already here: answer them in one write
		}
		if _, err := c.Write(out); err != nil {
			return
		}
		if cap(out) > floorMaxKept {
			out = nil
		}
		out = out[:0]
	}
}

func (s *floorServer) Close() error {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// floorCall is one caller's wait for its reply.
type floorCall struct {
	ready chan struct{}
	body  []byte
	err   error
}

var floorCalls = sync.Pool{New: func() any { return &floorCall{ready: make(chan struct{}, 1)} }}

// floorConn is the client side of one connection.
type floorConn struct {
	c net.Conn

	wmu   sync.Mutex
	wbuf  []byte
	spare []byte
	busy  bool // a caller is writing; it writes what is queued meanwhile too

	pmu     sync.Mutex
	seq     uint64
	pending map[uint64]*floorCall
	err     error // set when the connection failed
}

func dialFloor(addr string) (Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fc := &floorConn{c: c, pending: map[uint64]*floorCall{}}
	go fc.readLoop()
	return fc, nil
}

func (f *floorConn) Call(ctx context.Context, args, reply *pb.BenchmarkMessage) error {
	call := floorCalls.Get().(*floorCall)
	f.pmu.Lock()
	if f.err != nil {
		err := f.err
		f.pmu.Unlock()
		floorCalls.Put(call)
		return err
	}
	f.seq++
	id := f.seq
	f.pending[id] = call
	alone := len(f.pending) == 1
	f.pmu.Unlock()

	if err := f.send(id, args, alone); err != nil {
		f.fail(err)
	}
	<-call.ready
	err := call.err
	if err == nil {
		err = proto.Unmarshal(call.body, reply)
	}
	call.err = nil
	floorCalls.Put(call)
	return err
}

// send queues the frame and, unless another caller is writing, writes the
// queue until it is empty (after one yield when the call is not alone).
func (f *floorConn) send(id uint64, args *pb.BenchmarkMessage, alone bool) error {
	f.wmu.Lock()
	b, err := appendFloorFrame(f.wbuf, id, args)
	f.wbuf = b
	if err != nil || f.busy {
		f.wmu.Unlock()
		return err
	}
	f.busy = true
	if !alone {
		f.wmu.Unlock()
		runtime.Gosched()
		f.wmu.Lock()
	}
	for len(f.wbuf) > 0 {
		batch := f.wbuf
		f.wbuf = f.spare[:0]
		f.wmu.Unlock()
		_, werr := f.c.Write(batch)
		f.wmu.Lock()
		if cap(batch) <= floorMaxKept {
			f.spare = batch[:0]
		}
		if werr != nil {
			f.busy = false
			f.wmu.Unlock()
			return werr
		}
	}
	f.busy = false
	f.wmu.Unlock()
	return nil
}

func (f *floorConn) readLoop() {
	br := bufio.NewReaderSize(f.c, floorReadBuf)
	var body []byte
	for {
		id, b, err := readFloorFrame(br, body)
		body = b
		if err != nil {
			f.fail(err)
			return
		}
		f.pmu.Lock()
		call := f.pending[id]
		delete(f.pending, id)
		f.pmu.Unlock()
		if call != nil {
			call.body = append(call.body[:0], body...)
			call.ready <- struct{}{}
		}
	}
}

// fail fails every pending call once and closes the connection.
func (f *floorConn) fail(err error) {
	f.pmu.Lock()
	if f.err != nil {
		f.pmu.Unlock()
		return
	}
	f.err = fmt.Errorf("floor: connection failed: %w", err)
	pending := f.pending
	f.pending = nil
	f.pmu.Unlock()
	f.c.Close()
	for _, call := range pending {
		call.err = f.err
		call.ready <- struct{}{}
	}
}

func (f *floorConn) Close() error {
	f.fail(net.ErrClosed)
	return nil
}

func init() {
	register(Framework{
		Name: "floor",
		NewServer: func() (Server, error) {
			return &floorServer{conns: map[net.Conn]struct{}{}}, nil
		},
		Dial: dialFloor,
	})
}
