package server

import (
	"context"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
)

// blobService answers with a reply of the size asked for (raw bytes).
type blobService struct{}

func (blobService) Get(ctx context.Context, args *[]byte, reply *[]byte) error {
	n := 0
	for _, b := range *args {
		n = n<<8 | int(b)
	}
	*reply = make([]byte, n)
	return nil
}

func blobReq(size int) *protocol.Message {
	return newReq("Blob", "Get", protocol.SerializeNone, []byte{byte(size >> 16), byte(size >> 8), byte(size)}, nil)
}

// A peer that sends requests but never reads their replies is closed once
// a write has been blocked for the write timeout (and a quarter more at
// most), not before; other connections are served meanwhile.
func TestWriteTimeoutClosesPeerThatDoesNotRead(t *testing.T) {
	const wt = 300 * time.Millisecond
	s := NewServer(WithWriteTimeout(wt))
	if err := s.RegisterName("Blob", blobService{}, ""); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	c := dialRaw(t, addr)
	start := time.Now()
	for i := 0; i < 64; i++ { // 64 × 512 KiB: far more than the socket buffers hold
		c.send(blobReq(512 << 10))
	}
	waitFor(t, func() bool { return s.Stats().ConnsClosed >= 1 })
	if took := time.Since(start); took < wt {
		t.Fatalf("connection closed after %v, before the write timeout %v", took, wt)
	}
	other := dialRaw(t, addr)
	if res := other.call(blobReq(10)); len(res.Payload) != 10 || errText(res) != "" {
		t.Fatalf("other connection: %d bytes, error %q", len(res.Payload), errText(res))
	}
}

// The write deadline moves along: a connection that writes for many times
// the write timeout, reading every reply, stays open.
func TestWriteTimeoutKeepsWritingConnection(t *testing.T) {
	const wt = 40 * time.Millisecond
	s := NewServer(WithWriteTimeout(wt))
	if err := s.RegisterName("Blob", blobService{}, ""); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	for end := time.Now().Add(10 * wt); time.Now().Before(end); {
		if res := c.call(blobReq(100)); len(res.Payload) != 100 {
			t.Fatalf("reply of %d bytes, want 100 (error %q)", len(res.Payload), errText(res))
		}
		time.Sleep(wt / 8)
	}
	if n := s.Stats().ConnsClosed; n != 0 {
		t.Fatalf("%d connections closed", n)
	}
}
