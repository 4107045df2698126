package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// ftEnv is a server with a FileTransfer and an XClient of its service.
type ftEnv struct {
	s  *server.Server
	ft *server.FileTransfer
	x  client.XClient
}

func startFileTransfer(t *testing.T, up server.FileTransferHandler, down server.DownloadFileHandler) *ftEnv {
	t.Helper()
	s := server.NewServer()
	ft := server.NewFileTransfer("127.0.0.1:0", up, down, 10)
	s.EnableFileTransfer(share.SendFileServiceName, ft)
	addr := serveOn(t, s, "tcp", "127.0.0.1:0")
	d, err := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatal(err)
	}
	x := client.NewXClient(share.SendFileServiceName, client.Failfast, client.RandomSelect, d, client.DefaultOption)
	t.Cleanup(func() { x.Close() })
	return &ftEnv{s: s, ft: ft, x: x}
}

// pattern is the content of generated files: byte i is i*7 mod 251.
type pattern struct{ off, size int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-p.off))
	for i := range n {
		b[i] = byte((p.off + int64(i)) * 7 % 251)
	}
	p.off += int64(n)
	return n, nil
}

func patternSum(size int64) [32]byte {
	h := sha256.New()
	if _, err := io.Copy(h, &pattern{size: size}); err != nil {
		panic(err)
	}
	return [32]byte(h.Sum(nil))
}

func writePatternFile(t *testing.T, size int64) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "data.bin")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, &pattern{size: size}); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestFileTransferRoundTrip(t *testing.T) {
	const size = 3<<20 + 17
	type upload struct {
		args share.FileTransferArgs
		sum  [32]byte
		err  error
	}
	uploads := make(chan upload, 1)
	env := startFileTransfer(t,
		func(conn net.Conn, args *share.FileTransferArgs) {
			h := sha256.New()
			_, err := io.Copy(h, conn)
			uploads <- upload{*args, [32]byte(h.Sum(nil)), err}
		},
		func(conn net.Conn, args *share.DownloadFileArgs) {
			n, _ := strconv.ParseInt(args.Meta["size"], 10, 64)
			_, _ = io.Copy(conn, &pattern{size: n})
		})
	name := writePatternFile(t, size)
	if err := env.x.SendFile(t.Context(), name, 0, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	u := <-uploads // SendFile returned after the handler: it is there
	if u.err != nil || u.sum != patternSum(size) || u.args.FileName != "data.bin" || u.args.FileSize != size || u.args.Meta["k"] != "v" {
		t.Fatalf("upload: %+v", u)
	}
	h := sha256.New()
	if err := env.x.DownloadFile(t.Context(), "any", h, map[string]string{"size": strconv.Itoa(size)}); err != nil {
		t.Fatal(err)
	}
	if [32]byte(h.Sum(nil)) != patternSum(size) {
		t.Fatal("downloaded bytes differ")
	}

	oc := client.NewOneClient(client.Failfast, client.RandomSelect, mustP2P(t, env.s), client.DefaultOption)
	defer oc.Close()
	var buf bytes.Buffer
	if err := oc.DownloadFile(t.Context(), "x", &buf, map[string]string{"size": "1000"}); err != nil || buf.Len() != 1000 {
		t.Fatalf("OneClient download: %d bytes, %v", buf.Len(), err)
	}
	if err := oc.SendFile(t.Context(), name, 0, nil); err != nil {
		t.Fatalf("OneClient upload: %v", err)
	}
	<-uploads
}

func mustP2P(t *testing.T, s *server.Server) client.ServiceDiscovery {
	t.Helper()
	d, err := client.NewPeer2PeerDiscovery("tcp@"+s.Address().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFileTransferRate(t *testing.T) {
	const size, rate = 256 << 10, 1 << 20
	env := startFileTransfer(t, func(conn net.Conn, _ *share.FileTransferArgs) { _, _ = io.Copy(io.Discard, conn) }, nil)
	name := writePatternFile(t, size)
	start := time.Now()
	if err := env.x.SendFile(t.Context(), name, rate, nil); err != nil {
		t.Fatal(err)
	}
	// One 32 KiB chunk may go at once, the rest at 1 MiB/s: >= 218ms.
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Fatalf("256 KiB at 1 MiB/s took %v", d)
	}
}

// readRSS returns the resident set size of the process in bytes.
func readRSS(t *testing.T) int64 { return readStatusKB(t, "VmRSS:") }

// readStatusKB reads a "kB" field of /proc/self/status, in bytes.
func readStatusKB(t *testing.T, key string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skipf("no %s in /proc/self/status", key)
	return 0
}

// settledRSS returns the resident size after a collection has returned
// free memory to the OS, so that garbage of earlier tests does not count.
func settledRSS(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return readRSS(t)
}

// A 1 GiB upload (from a sparse file) and a 1 GiB download (generated by
// the handler, hashed by the client) keep the process's memory bounded.
func TestFileTransferLarge(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() {
		size = 256 << 20
	}
	received := make(chan int64, 1)
	env := startFileTransfer(t,
		func(conn net.Conn, _ *share.FileTransferArgs) {
			n, _ := io.Copy(io.Discard, conn)
			received <- n
		},
		func(conn net.Conn, _ *share.DownloadFileArgs) {
			buf := make([]byte, 64<<10)
			for left := size; left > 0; {
				n := min(int64(len(buf)), left)
				if _, err := conn.Write(buf[:n]); err != nil {
					return
				}
				left -= n
			}
		})
	name := filepath.Join(t.TempDir(), "sparse.bin")
	if f, err := os.Create(name); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}
	if err := os.Truncate(name, size); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	before := settledRSS(t)
	// Reset the peak (VmHWM) to the current size, where the kernel allows.
	peakReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	start := time.Now()
	if err := env.x.SendFile(ctx, name, 0, nil); err != nil {
		t.Fatal(err)
	}
	if n := <-received; n != size {
		t.Fatalf("server received %d bytes, want %d", n, size)
	}
	up := time.Since(start)
	start = time.Now()
	cw := &countingWriter{}
	if err := env.x.DownloadFile(ctx, "big", cw, nil); err != nil {
		t.Fatal(err)
	}
	down := time.Since(start)
	if cw.n != size {
		t.Fatalf("downloaded %d bytes, want %d", cw.n, size)
	}
	peak := int64(-1)
	if peakReset {
		peak = readStatusKB(t, "VmHWM:") - before
	}
	retained := settledRSS(t) - before
	mib := float64(size) / (1 << 20)
	t.Logf("%.0f MiB: upload %v (%.0f MiB/s), download %v (%.0f MiB/s), RSS peak growth %.1f MiB, retained %.1f MiB",
		mib, up, mib/up.Seconds(), down, mib/down.Seconds(), float64(peak)/(1<<20), float64(retained)/(1<<20))
	// Buffering the file would grow the process by its size; streaming
	// needs a few buffers (plus the race detector's shadow of them).
	if peak > size/4 {
		t.Fatalf("RSS peaked %d MiB above the start for a %d MiB transfer", peak>>20, size>>20)
	}
	if retained > 32<<20 {
		t.Fatalf("RSS stayed %d MiB above the start after the transfers", retained>>20)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// failingWriter fails once more than limit bytes were written.
type failingWriter struct {
	n, limit int64
}

var errSinkFull = errors.New("sink full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n += int64(len(p)); w.n > w.limit {
		return 0, errSinkFull
	}
	return len(p), nil
}

// An interrupted transfer gives both sides an error: the client's ctx ends
// mid-upload, the server stops mid-download, the client's writer fails
// mid-download.
func TestFileTransferInterrupted(t *testing.T) {
	const size = 64 << 20
	handlerErr := make(chan error, 1)
	progressed := make(chan struct{}, 1)
	env := startFileTransfer(t,
		func(conn net.Conn, _ *share.FileTransferArgs) {
			buf := make([]byte, 32<<10)
			var got int64
			for {
				n, err := conn.Read(buf)
				got += int64(n)
				if got >= 1<<20 {
					select {
					case progressed <- struct{}{}:
					default:
					}
				}
				if err == io.EOF {
					handlerErr <- nil
					return
				}
				if err != nil {
					handlerErr <- err
					return
				}
			}
		},
		func(conn net.Conn, args *share.DownloadFileArgs) {
			buf := make([]byte, 32<<10)
			for i := 0; ; i++ {
				if _, err := conn.Write(buf); err != nil {
					handlerErr <- err
					return
				}
				if i == 32 {
					select {
					case progressed <- struct{}{}:
					default:
					}
				}
				if i == 1<<20 { // 32 GiB: never reached
					handlerErr <- nil
					return
				}
			}
		})

	t.Run("upload cancelled by the client", func(t *testing.T) {
		name := writePatternFile(t, size)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- env.x.SendFile(ctx, name, 8<<20, nil) }() // 8 MiB/s: 8s for the whole file
		<-progressed
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("client: %v, want context.Canceled", err)
		}
		if err := <-handlerErr; !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("server handler: %v, want io.ErrUnexpectedEOF", err)
		}
	})
	t.Run("download with a failing writer", func(t *testing.T) {
		err := env.x.DownloadFile(t.Context(), "x", &failingWriter{limit: 1 << 20}, nil)
		if !errors.Is(err, errSinkFull) {
			t.Fatalf("client: %v", err)
		}
		select {
		case err := <-handlerErr:
			if err == nil {
				t.Fatal("server handler finished without error")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("server handler still writing 10s after the client gave up")
		}
		select { // forget this download's progress signal
		case <-progressed:
		default:
		}
	})
	t.Run("download stopped by the server", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- env.x.DownloadFile(t.Context(), "x", &slowWriter{}, nil) }()
		<-progressed
		if err := env.ft.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err == nil {
			t.Fatal("client: download interrupted by the server ended without error")
		}
		if err := <-handlerErr; err == nil {
			t.Fatal("server handler: no error")
		}
		// After Stop the service refuses new transfers.
		err := env.x.DownloadFile(t.Context(), "x", io.Discard, nil)
		if share.CodeOf(err) != share.CodeUnavailable {
			t.Fatalf("after stop: %v", err)
		}
	})
}

// slowWriter accepts bytes with a short pause per write, so a download is
// still running when the test stops the server.
type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond) // a slow sink, not a wait for the server
	return len(p), nil
}

func TestFileTransferRefusals(t *testing.T) {
	env := startFileTransfer(t, nil, nil)
	name := writePatternFile(t, 10)
	if err := env.x.SendFile(t.Context(), name, 0, nil); share.CodeOf(err) != share.CodeUnimplemented {
		t.Fatalf("upload without handler: %v", err)
	}
	if err := env.x.DownloadFile(t.Context(), "x", io.Discard, nil); share.CodeOf(err) != share.CodeUnimplemented {
		t.Fatalf("download without handler: %v", err)
	}
	if err := env.x.SendFile(t.Context(), filepath.Join(t.TempDir(), "missing"), 0, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	// A data connection with a wrong token is closed at once.
	conn, err := net.Dial("tcp", env.ft.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("wrong token: %v", err)
	}
}
