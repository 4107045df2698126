package server

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/util/memconn"
)

func TestSendMessageBeforeReply(t *testing.T) {
	s := NewServer()
	if err := Handle(s, "N", "Call", func(ctx context.Context, req *string, res *string) error {
		conn := ctx.Value(RemoteConnContextKey).(net.Conn)
		if err := s.SendMessage(conn, "N", "Push", map[string]string{"m": "1"}, []byte("pushed")); err != nil {
			return err
		}
		*res = "reply"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	seq := c.send(newReq("N", "Call", protocol.JSON, []byte(`"x"`), nil))
	n := c.read()
	if n.MessageType() != protocol.Request || !n.IsOneway() || n.ServiceMethod != "Push" ||
		string(n.Payload) != "pushed" || n.Metadata["m"] != "1" || n.SerializeType() != protocol.JSON {
		t.Fatalf("notification %s %q", n, n.Payload)
	}
	if r := c.read(); r.Seq() != seq || r.MessageType() != protocol.Response {
		t.Fatalf("reply %s", r)
	}
	if err := s.SendMessage(&net.TCPConn{}, "N", "Push", nil, nil); !errors.Is(err, ErrConnNotFound) {
		t.Fatalf("unknown conn: %v", err)
	}
}

func TestSendMessageQueueBound(t *testing.T) {
	s := NewServer(WithMaxNotifyQueue(3))
	name := "notify-bound"
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("memu", name) }()
	<-s.Started
	nc, err := memconn.Dial(name)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		nc.Close()
		s.Close()
		<-errc
	}()
	waitFor(t, func() bool { return len(s.ActiveClientConn()) == 1 })
	conn := s.ActiveClientConn()[0]
	// Nothing is written before the client's first frame, so the queue fills.
	for i := range 3 {
		if err := s.SendMessage(conn, "N", "Push", nil, []byte{byte(i)}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := s.SendMessage(conn, "N", "Push", nil, nil); !errors.Is(err, ErrNotifyQueueFull) {
		t.Fatalf("4th message: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.SendMessageContext(ctx, conn, "N", "Push", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocking send: %v", err)
	}
	c := &rawClient{t: t, conn: nc, br: newReader(nc)}
	hb := newReq("", "", protocol.SerializeNone, nil, nil)
	hb.SetHeartbeat(true)
	c.send(hb)
	for i := range 3 {
		if m := c.read(); !m.IsOneway() || m.Payload[0] != byte(i) {
			t.Fatalf("notification %d: %s", i, m)
		}
	}
	if m := c.read(); !m.IsHeartbeat() {
		t.Fatalf("heartbeat reply: %s", m)
	}
	waitFor(t, func() bool { return s.SendMessage(conn, "N", "Push", nil, nil) == nil })
}

// fullNotifyQueue serves one in-process connection whose notification
// queue (of 2) is full: nothing is written before the client's first frame.
func fullNotifyQueue(t *testing.T, name string) (*Server, net.Conn, net.Conn) {
	t.Helper()
	s := NewServer(WithMaxNotifyQueue(2))
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("memu", name) }()
	<-s.Started
	nc, err := memconn.Dial(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nc.Close()
		s.Close()
		<-errc
	})
	waitFor(t, func() bool { return len(s.ActiveClientConn()) == 1 })
	conn := s.ActiveClientConn()[0]
	for i := range 2 {
		if err := s.SendMessage(conn, "N", "Push", nil, []byte{byte(i)}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	return s, conn, nc
}

// A send waiting for room in a full queue goes on as soon as a queued
// notification is written, and fails when the connection closes.
func TestSendMessageContextWaitsForRoom(t *testing.T) {
	s, conn, nc := fullNotifyQueue(t, "notify-room")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent := make(chan error, 1)
	go func() { sent <- s.SendMessageContext(ctx, conn, "N", "Push", nil, []byte{2}) }()
	waitFor(t, func() bool { return s.findConn(conn).room.Load() != nil }) // it waits
	c := &rawClient{t: t, conn: nc, br: newReader(nc)}
	hb := newReq("", "", protocol.SerializeNone, nil, nil)
	hb.SetHeartbeat(true)
	c.send(hb) // the connection now speaks rpcx: the queue is written
	got := map[byte]bool{}
	for len(got) < 3 { // the waiting send's notification too
		if m := c.read(); m.IsOneway() {
			got[m.Payload[0]] = true
		}
	}
	if err := <-sent; err != nil {
		t.Fatalf("waiting send: %v", err)
	}

	s2, conn2, nc2 := fullNotifyQueue(t, "notify-room-closed")
	go func() { sent <- s2.SendMessageContext(ctx, conn2, "N", "Push", nil, nil) }()
	waitFor(t, func() bool { return s2.findConn(conn2).room.Load() != nil })
	nc2.Close()
	if err := <-sent; !errors.Is(err, ErrConnNotFound) {
		t.Fatalf("send on a closed connection: %v", err)
	}
}
