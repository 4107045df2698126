package client

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestConnReaderReadsAndReleasesItsBufferWhenDrained(t *testing.T) {
	c, s := tcpPair(t)
	cr := newConnReader(c)
	defer cr.release()
	if cr.raw == nil {
		t.Fatal("a *net.TCPConn must be read through its raw connection")
	}
	if cr.buf != nil {
		t.Fatal("a new reader must hold no buffer before bytes arrive")
	}
	if _, err := s.Write([]byte("hello, world")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(cr, got); err != nil || string(got) != "hello" {
		t.Fatalf("first read = %q, %v", got, err)
	}
	if cr.buffered() != 7 || cr.buf == nil {
		t.Fatalf("buffered = %d, buf %v; want 7 bytes held", cr.buffered(), cr.buf != nil)
	}
	rest := make([]byte, 7)
	if _, err := io.ReadFull(cr, rest); err != nil || string(rest) != ", world" {
		t.Fatalf("second read = %q, %v", rest, err)
	}
	// Drained: the next read finds the socket empty, gives the buffer back
	// and waits, here until the deadline.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := cr.Read(rest); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	if cr.buf != nil {
		t.Fatal("a reader waiting on an empty socket must not hold a buffer")
	}
	_ = c.SetReadDeadline(time.Time{})
	big := make([]byte, ReaderBuffsize+10) // larger than the buffer: read straight into p
	for i := range big {
		big[i] = byte(i)
	}
	go func() { _, _ = s.Write(big); s.Close() }()
	into := make([]byte, len(big))
	if _, err := io.ReadFull(cr, into); err != nil {
		t.Fatal(err)
	}
	for i := range into {
		if into[i] != byte(i) {
			t.Fatalf("byte %d = %d", i, into[i])
		}
	}
	if _, err := cr.Read(into); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the peer closed = %v, want io.EOF", err)
	}
}

func TestConnReaderWithoutRawConnKeepsOneBuffer(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cr := newConnReader(a)
	defer cr.release()
	if cr.raw != nil || cr.buf == nil {
		t.Fatal("a net.Pipe conn must be read through its Read with a kept buffer")
	}
	go func() { _, _ = b.Write([]byte("abc")); b.Close() }()
	got, err := io.ReadAll(cr)
	if err != nil || string(got) != "abc" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
}

// TestIdleClientHasOneGoroutine: after a call, an idle connection runs only
// its reader (no writer goroutine), on TCP as on the in-process network.
func TestIdleClientHasOneGoroutine(t *testing.T) {
	for _, network := range []string{"tcp", "memu"} {
		t.Run(network, func(t *testing.T) {
			s := startTestServer(t, network, nil)
			const n = 20
			runtime.GC()
			before := runtime.NumGoroutine()
			clients := make([]*Client, n)
			for i := range clients {
				clients[i] = dialTest(t, s, DefaultOption)
				var reply []byte
				if err := clients[i].Call(context.Background(), "S", "Echo", []byte("x"), &reply); err != nil {
					t.Fatal(err)
				}
			}
			// The test server runs one goroutine per connection too.
			want := before + 2*n
			waitFor(t, 2*time.Second, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= want })
			for _, c := range clients {
				c.Close()
			}
		})
	}
}
