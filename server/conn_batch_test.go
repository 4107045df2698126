package server

import (
	"encoding/json"
	"net"
	"sync/atomic"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// countingListener hands out connections that count their Writes.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: nc, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.writes.Add(1)
	return c.Conn.Write(p)
}

// serveCounting starts s on a counting loopback listener.
func serveCounting(t *testing.T, s *Server) (*countingListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	serveOn(t, s, cl)
	return cl, ln.Addr().String()
}

// sendBurst writes the requests (Arith.Mul of i and 2), and a oneway one
// last when oneway is set, with one Write.
func sendBurst(t *testing.T, rc *rawClient, n int, oneway bool) {
	t.Helper()
	var b []byte
	for i := 1; i <= n+1; i++ {
		if i > n && !oneway {
			break
		}
		p, _ := json.Marshal(Args{A: i, B: 2})
		m := newReq("Arith", "Mul", protocol.JSON, p, nil)
		m.SetSeq(uint64(i))
		m.SetOneway(i > n)
		var err error
		if b, err = m.AppendTo(b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rc.conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// The replies to the frames of one read go out together, written by the
// reader, and a burst that ends with a oneway request (no reply to write
// them) still gets every reply.
func TestReaderBatchWritesRepliesTogether(t *testing.T) {
	const n = 40
	for _, oneway := range []bool{false, true} {
		s := NewServer()
		if err := s.Register(new(Arith), ""); err != nil {
			t.Fatal(err)
		}
		cl, addr := serveCounting(t, s)
		rc := dialRaw(t, addr)
		sendBurst(t, rc, n, oneway)
		seen := make(map[uint64]bool, n)
		for range n {
			res := rc.read()
			var r Reply
			if err := json.Unmarshal(res.Payload, &r); err != nil {
				t.Fatalf("reply %d: %v (%s)", res.Seq(), err, errText(res))
			}
			if r.C != int(res.Seq())*2 || seen[res.Seq()] {
				t.Fatalf("reply %d: C=%d (seen before: %v)", res.Seq(), r.C, seen[res.Seq()])
			}
			seen[res.Seq()] = true
		}
		// A connection not of the runtime's own types wakes into a
		// 512-byte head, so the burst arrives in two or three reads; a
		// write per reply would be n.
		if w := cl.writes.Load(); w > 4 {
			t.Fatalf("oneway=%v: %d writes for %d replies, want them batched (<= 4)", oneway, w, n)
		}
		if _, err := rc.tryRead(50e6); err == nil {
			t.Fatalf("oneway=%v: a reply to the oneway request", oneway)
		}
	}
}
