package server

import (
	"context"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
)

// StartRequestContextKey is when a request was read: requests that came
// in one read share that time, a request read later has its own (also
// after the connection went idle), and a deadline counts from it.
func TestStartRequestIsReadTime(t *testing.T) {
	starts := make(chan int64, 8)
	s := NewServer()
	if err := Handle(s, "T", "Start", func(ctx context.Context, req *[]byte, res *[]byte) error {
		starts <- ctx.Value(StartRequestContextKey).(int64)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	before := time.Now().UnixNano()
	c.call(newReq("T", "Start", protocol.SerializeNone, nil, nil))
	first := <-starts
	if first < before || first > time.Now().UnixNano() {
		t.Fatalf("start %d outside the call [%d, now]", first, before)
	}

	// Two requests in one write: one read, one time.
	a, b := newReq("T", "Start", protocol.SerializeNone, nil, nil), newReq("T", "Start", protocol.SerializeNone, nil, nil)
	a.SetSeq(100)
	b.SetSeq(101)
	frames, _ := a.AppendTo(nil)
	frames, _ = b.AppendTo(frames)
	time.Sleep(20 * time.Millisecond)
	sent := time.Now().UnixNano()
	if _, err := c.conn.Write(frames); err != nil {
		t.Fatal(err)
	}
	c.read()
	c.read()
	sa, sb := <-starts, <-starts
	if sa != sb || sa < sent {
		t.Fatalf("batched requests started at %d and %d, want one time after %d", sa, sb, sent)
	}

	// After 150 ms of idleness (the reader parks after 50-100 ms) a new
	// request gets a new time.
	time.Sleep(150 * time.Millisecond)
	sent = time.Now().UnixNano()
	c.call(newReq("T", "Start", protocol.SerializeNone, nil, nil))
	if late := <-starts; late < sent {
		t.Fatalf("request sent at %d read at %d: an old read's time", sent, late)
	}
}
