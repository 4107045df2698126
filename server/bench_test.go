package server

import (
	"bufio"
	"context"
	"net"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// benchConn sends one pre-encoded request and reads its response into a
// reused message, so nearly all allocations counted are the server's.
type benchConn struct {
	conn net.Conn
	br   *bufio.Reader
	raw  []byte
	res  *protocol.Message
	lim  protocol.Limits
}

func newBenchConn(b *testing.B, addr string, req *protocol.Message) *benchConn {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	req.SetSeq(1)
	return &benchConn{conn: conn, br: bufio.NewReaderSize(conn, 16<<10), raw: req.Encode(), res: protocol.NewMessage(), lim: protocol.DefaultLimits()}
}

func (c *benchConn) roundTrip(b *testing.B) {
	if _, err := c.conn.Write(c.raw); err != nil {
		b.Fatal(err)
	}
	if err := c.res.DecodeLimited(c.br, &c.lim); err != nil {
		b.Fatal(err)
	}
	if c.res.MessageStatusType() != protocol.Normal {
		b.Fatal(c.res.Metadata[protocol.ServiceError])
	}
}

func benchServer(b *testing.B) string {
	s := NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		b.Fatal(err)
	}
	if err := Handle(s, "Typed", "Echo", func(ctx context.Context, req *[]byte, res *[]byte) error {
		*res = *req
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return testServer(b, s)
}

// BenchmarkServerTypedRaw measures the request path with a typed handler
// and raw bytes: decode, dispatch, handler, batched write.
func BenchmarkServerTypedRaw(b *testing.B) {
	addr := benchServer(b)
	c := newBenchConn(b, addr, newReq("Typed", "Echo", protocol.SerializeNone, make([]byte, 64), nil))
	b.ReportAllocs()
	for b.Loop() {
		c.roundTrip(b)
	}
}

// BenchmarkServerReflectMsgpack measures a Register'ed method with msgpack.
func BenchmarkServerReflectMsgpack(b *testing.B) {
	addr := benchServer(b)
	p, err := (&protocolCodec{protocol.MsgPack}).encode(&Args{A: 6, B: 7})
	if err != nil {
		b.Fatal(err)
	}
	c := newBenchConn(b, addr, newReq("Arith", "Mul", protocol.MsgPack, p, nil))
	b.ReportAllocs()
	for b.Loop() {
		c.roundTrip(b)
	}
}

// BenchmarkServerParallel runs callers on their own connections.
func BenchmarkServerParallel(b *testing.B) {
	addr := benchServer(b)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		c := newBenchConn(b, addr, newReq("Typed", "Echo", protocol.SerializeNone, make([]byte, 64), nil))
		for pb.Next() {
			c.roundTrip(b)
		}
	})
}
