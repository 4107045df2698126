package serverplugin

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

// teePipe wraps the server end of a pipe with p and returns it and the
// client end.
func teePipe(t *testing.T, p *TeeConnPlugin) (server net.Conn, client net.Conn) {
	t.Helper()
	s, c := net.Pipe()
	t.Cleanup(func() { s.Close(); c.Close() })
	ws, ok := p.HandleConnAccept(s)
	if !ok {
		t.Fatal("tee refused a connection")
	}
	return ws, c
}

// send writes msg on c and reads it on s.
func send(t *testing.T, s, c net.Conn, msg string) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { _, err := c.Write([]byte(msg)); errc <- err }()
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(s, buf); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Fatalf("server read %q, want %q", buf, msg)
	}
}

func TestTeeConnPlugin(t *testing.T) {
	first, second := &lockedBuffer{}, &lockedBuffer{}
	p := NewTeeConnPlugin(first)
	s, c := teePipe(t, p)
	send(t, s, c, "hello ")
	send(t, s, c, "world")
	if got := first.String(); got != "hello world" {
		t.Fatalf("tee got %q", got)
	}
	p.Update(second) // applies to the connection accepted before
	send(t, s, c, "again")
	if first.String() != "hello world" || second.String() != "again" {
		t.Fatalf("after Update: first %q, second %q", first.String(), second.String())
	}
	p.Update(nil)
	send(t, s, c, "dropped")
	if second.String() != "again" {
		t.Fatalf("nil writer still copied: %q", second.String())
	}
	if nc, ok := s.(interface{ NetConn() net.Conn }); !ok || nc.NetConn() == nil {
		t.Fatal("tee conn does not expose NetConn")
	}
}

func TestTeeConnPluginFailingWriter(t *testing.T) {
	p := NewTeeConnPlugin(failWriter{})
	s, c := teePipe(t, p)
	send(t, s, c, "one")
	send(t, s, c, "two") // the connection keeps working
}

func TestTeeConnPluginZeroValueAndNil(t *testing.T) {
	var p TeeConnPlugin
	s, c := teePipe(t, &p)
	send(t, s, c, "x")
	if conn, ok := p.HandleConnAccept(nil); !ok || conn != nil {
		t.Fatal("nil conn not passed through")
	}
}

func TestTeeConnPluginConcurrent(t *testing.T) {
	buf := &lockedBuffer{}
	p := NewTeeConnPlugin(buf)
	var wg sync.WaitGroup
	const conns, msgs = 4, 50
	for i := 0; i < conns; i++ {
		s, c := teePipe(t, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < msgs; j++ {
				go c.Write([]byte("ab"))
				b := make([]byte, 2)
				if _, err := io.ReadFull(s, b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := len(buf.String()); got != conns*msgs*2 {
		t.Fatalf("tee copied %d bytes, want %d", got, conns*msgs*2)
	}
}
