package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// frame builds a raw frame: header bytes, then body, with the given total
// length field.
func frame(flags byte, total uint32, body []byte) []byte {
	b := []byte{0x08, 0, flags, byte(protocol.SerializeNone) << 4, 0, 0, 0, 0, 0, 0, 0, 1}
	b = binary.BigEndian.AppendUint32(b, total)
	return append(b, body...)
}

func field(s []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...) }

// assertServing checks that a fresh connection still gets answers.
func assertServing(t *testing.T, addr string) {
	t.Helper()
	c := dialRaw(t, addr)
	if m := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":3,"B":3}`), nil)); string(m.Payload) != `{"C":9}` {
		t.Fatalf("server stopped serving: %q %s", m.Payload, errText(m))
	}
	c.conn.Close()
}

func TestHostileFramesCloseConnection(t *testing.T) {
	s, addr := newArithServer(t, WithFrameTimeout(300*time.Millisecond))
	tests := []struct {
		name  string
		data  []byte
		close bool // half-close our side after sending
	}{
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"wrong magic later", append(frame(0, 16, append(append(append(field(nil), field(nil)...), field(nil)...), field(nil)...)), 0x09, 0, 0, 0), false},
		{"bad version", []byte{0x08, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, false},
		{"truncated header", []byte{0x08, 0, 0}, true},
		{"truncated body", frame(0, 100, make([]byte, 10)), true},
		{"field past end", frame(0, 8, []byte{0, 0, 0, 200, 1, 2, 3, 4}), false},
		{"slowloris", frame(0, 100, make([]byte, 10)), false}, // never completes: frame timeout
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if _, err := c.conn.Write(tt.data); err != nil {
				t.Fatal(err)
			}
			if tt.close {
				_ = c.conn.(interface{ CloseWrite() error }).CloseWrite()
			}
			start := time.Now()
			c.expectClosed()
			if tt.name == "slowloris" && time.Since(start) > 3*time.Second {
				t.Fatalf("slowloris conn closed after %v", time.Since(start))
			}
			assertServing(t, addr)
		})
	}
	if s.Stats().ProtocolErrors < uint64(len(tests)-1) {
		t.Fatalf("protocol errors %d", s.Stats().ProtocolErrors)
	}
}

// A client that trickles one byte at a time never completes a frame
// within the frame timeout.
func TestSlowlorisTrickle(t *testing.T) {
	_, addr := newArithServer(t, WithFrameTimeout(200*time.Millisecond))
	c := dialRaw(t, addr)
	data := newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":1,"B":1}`), nil).Encode()
	start := time.Now()
	for _, b := range data {
		if _, err := c.conn.Write([]byte{b}); err != nil {
			break // closed by the server
		}
		time.Sleep(30 * time.Millisecond) // the attack itself: one byte per 30ms
		if time.Since(start) > 5*time.Second {
			t.Fatal("server kept a trickling connection for 5s")
		}
	}
	c.expectClosed()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

// Scenario 29: a length prefix claiming 4 GiB is refused without
// allocating it; the client gets an error response and the connection is
// closed.
func TestHugeLengthPrefix(t *testing.T) {
	_, addr := newArithServer(t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c := dialRaw(t, addr)
	if _, err := c.conn.Write(frame(0, 0xFFFFFFFF, []byte("short"))); err != nil {
		t.Fatal(err)
	}
	m := c.read()
	if !strings.Contains(errText(m), protocol.ErrMessageTooLong.Error()) || m.Metadata[share.ErrorCodeKey] != "8" {
		t.Fatalf("response %s", m)
	}
	c.expectClosed()
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
		t.Fatalf("allocated %d MiB", d>>20)
	}
	assertServing(t, addr)
}

// One million metadata entries are refused (the frame is read whole, so
// the connection stays usable).
func TestMillionMetadataEntries(t *testing.T) {
	s, addr := newArithServer(t)
	const n = 1_000_000
	meta := bytes.Repeat([]byte{0, 0, 0, 1, 'k', 0, 0, 0, 0}, n) // n entries k=""
	body := append(append(append(field([]byte("Arith")), field([]byte("Mul"))...), field(meta)...), field(nil)...)
	c := dialRaw(t, addr)
	if _, err := c.conn.Write(frame(0, uint32(len(body)), body)); err != nil {
		t.Fatal(err)
	}
	m := c.read()
	if !strings.Contains(errText(m), "too many metadata") {
		t.Fatalf("response %s", m)
	}
	if m := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":2}`), nil)); string(m.Payload) != `{"C":4}` {
		t.Fatalf("connection unusable after refusal: %s", m)
	}
	if s.Stats().ProtocolErrors != 1 {
		t.Fatalf("protocol errors %d", s.Stats().ProtocolErrors)
	}
}

// gzipBomb returns about 1 MiB of gzip that inflates to size bytes: one
// member of 1 MiB of zeros repeated (gzip readers read multistream).
func gzipBomb(t testing.TB, size int) []byte {
	t.Helper()
	const chunk = 1 << 20
	var one bytes.Buffer
	w, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	if _, err := w.Write(make([]byte, chunk)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return bytes.Repeat(one.Bytes(), size/chunk)
}

// Scenario 28: a gzip bomb (1 GiB inflated) is refused with the default
// limits before authentication, with bounded memory.
func TestGzipBomb(t *testing.T) {
	s := NewServer()
	var authCalls atomic.Int32
	s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
		authCalls.Add(1)
		return nil
	}
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	bomb := gzipBomb(t, 1<<30)
	m := newReq("Arith", "Mul", protocol.JSON, nil, nil)
	m.SetCompressType(protocol.Gzip)
	body := append(append(append(field([]byte("Arith")), field([]byte("Mul"))...), field(nil)...), field(bomb)...)
	raw := frame(byte(protocol.Gzip)<<2, uint32(len(body)), body)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c := dialRaw(t, addr)
	if _, err := c.conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	res := c.read()
	runtime.ReadMemStats(&after)
	if !strings.Contains(errText(res), "decompressed payload too large") {
		t.Fatalf("response %s", res)
	}
	if authCalls.Load() != 0 {
		t.Fatal("auth ran for a refused frame")
	}
	// The limit is 16 MiB; inflating stops at limit+1 bytes.
	if d := after.TotalAlloc - before.TotalAlloc; d > 4*protocol.DefaultMaxMessageLength {
		t.Fatalf("allocated %d MiB for a 16 MiB limit", d>>20)
	}
	if d := int64(after.HeapSys) - int64(before.HeapSys); d > 2*protocol.DefaultMaxMessageLength {
		t.Fatalf("heap grew by %d MiB for a 16 MiB limit", d>>20)
	}
	assertServing(t, addr)
}

// Scenario 34: connect/disconnect cycles log nothing at INFO or above and
// are counted in Stats.
func TestConnectDisconnectNoInfoLogs(t *testing.T) {
	capture := newCaptureLogger()
	log.SetLogger(capture)
	defer log.SetDummyLogger()
	s, addr := newArithServer(t)
	const n = 1000
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // half of them make a heartbeat first
			hb := newReq("", "", protocol.SerializeNone, nil, nil)
			hb.SetHeartbeat(true)
			rc := &rawClient{t: t, conn: c, br: newReader(c)}
			rc.call(hb)
		}
		c.Close()
	}
	waitFor(t, func() bool { st := s.Stats(); return st.ConnsClosed == n })
	if st := s.Stats(); st.ConnsAccepted != n || st.Heartbeats != n/2 {
		t.Fatalf("stats %+v", st)
	}
	for {
		select {
		case line := <-capture.lines:
			if !strings.HasPrefix(line, "DEBUG") {
				t.Fatalf("non-debug log line: %s", line)
			}
		default:
			return
		}
	}
}
