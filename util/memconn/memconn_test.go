package memconn

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/courier-rpc/courier/_testutils/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func listen(t *testing.T, name string) *Listener {
	t.Helper()
	l, err := Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestDialAccept(t *testing.T) {
	l := listen(t, "memconn-dial")
	if l.Addr().Network() != "memu" || l.Addr().String() != "memconn-dial" {
		t.Fatalf("Addr = %v/%v", l.Addr().Network(), l.Addr())
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := Dial("memconn-dial")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, ok := <-accepted
	if !ok {
		t.FailNow()
	}
	defer s.Close()

	if c.RemoteAddr().String() != "memconn-dial" || s.LocalAddr().String() != "memconn-dial" ||
		c.LocalAddr().String() != s.RemoteAddr().String() || c.LocalAddr().Network() != "memu" {
		t.Fatalf("addresses: client %v->%v, server %v->%v", c.LocalAddr(), c.RemoteAddr(), s.LocalAddr(), s.RemoteAddr())
	}

	// Data flows both ways.
	go func() {
		buf := make([]byte, 4)
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Error(err)
			return
		}
		if _, err := s.Write(append(buf, '!')); err != nil {
			t.Error(err)
		}
	}()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping!" {
		t.Fatalf("read %q, %v", got, err)
	}
	// Closing one end gives EOF on the other.
	s.Close()
	if _, err := c.Read(got); err != io.EOF {
		t.Fatalf("read after peer close: %v", err)
	}
}

func TestRefusedAndInUse(t *testing.T) {
	if _, err := Dial("memconn-nobody"); !errors.Is(err, ErrRefused) {
		t.Fatalf("dial to nobody: %v", err)
	}
	l := listen(t, "memconn-dup")
	if _, err := Listen("memconn-dup"); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("second Listen: %v", err)
	}
	l.Close()
	if err := l.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := l.Accept(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if _, err := Dial("memconn-dup"); !errors.Is(err, ErrRefused) {
		t.Fatalf("dial after Close: %v", err)
	}
	// The name is free again; closing the old listener does not remove the new one.
	l2 := listen(t, "memconn-dup")
	l.Close()
	go func() {
		if c, err := l2.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := Dial("memconn-dup")
	if err != nil {
		t.Fatalf("dial to re-registered name: %v", err)
	}
	c.Close()
}

func TestDialContextCancel(t *testing.T) {
	listen(t, "memconn-slow") // never accepts
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := DialContext(ctx, "memconn-slow")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("DialContext after cancel: %v", err)
	}
	// An already expired context fails at once.
	expired, cancel2 := context.WithTimeout(context.Background(), 0)
	defer cancel2()
	if _, err := DialContext(expired, "memconn-slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired ctx: %v", err)
	}
}

func TestCloseWakesPendingDialAndAccept(t *testing.T) {
	l, err := Listen("memconn-close")
	if err != nil {
		t.Fatal(err)
	}
	dialErr := make(chan error, 1)
	acceptErr := make(chan error, 1)
	l2, err := Listen("memconn-close-accept")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := Dial("memconn-close") // nobody accepts on l
		dialErr <- err
	}()
	go func() {
		_, err := l2.Accept() // nobody dials l2
		acceptErr <- err
	}()
	l.Close()
	l2.Close()
	if err := <-dialErr; !errors.Is(err, ErrRefused) {
		t.Fatalf("pending dial: %v", err)
	}
	if err := <-acceptErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending accept: %v", err)
	}
}

func TestConcurrentDials(t *testing.T) {
	l := listen(t, "memconn-many")
	const n = 20
	go func() {
		for range n {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			c, err := Dial("memconn-many")
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := []byte{byte(i)}
			if _, err := c.Write(msg); err != nil {
				errs <- err
				return
			}
			got := make([]byte, 1)
			if _, err := io.ReadFull(c, got); err != nil || got[0] != byte(i) {
				errs <- errors.New("echo mismatch")
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
