package wsconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// rawFrame builds one frame; mask nil sends it unmasked.
func rawFrame(fin bool, op byte, payload []byte, mask []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	var mbit byte
	if mask != nil {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, mbit|byte(n))
	case n <= 0xFFFF:
		b = append(b, mbit|126, byte(n>>8), byte(n))
	default:
		b = append(b, mbit|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if mask == nil {
		return append(b, payload...)
	}
	b = append(b, mask...)
	for i, c := range payload {
		b = append(b, c^mask[i&3])
	}
	return b
}

// wsPipe returns a server-side wsConn and the raw peer end, whose
// incoming bytes are collected by a goroutine into the returned channel.
func wsPipe(t *testing.T, maxFrame int64) (*Conn, net.Conn, chan []byte) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	_ = a.SetDeadline(time.Now().Add(5 * time.Second))
	_ = b.SetDeadline(time.Now().Add(5 * time.Second))
	out := make(chan []byte, 16)
	go func() {
		defer close(out)
		for {
			buf := make([]byte, 256)
			n, err := b.Read(buf)
			if n > 0 {
				out <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return New(a, nil, false, maxFrame), b, out
}

func TestWSConnFrames(t *testing.T) {
	mask := []byte{1, 2, 3, 4}
	tests := []struct {
		name    string
		frames  [][]byte
		want    string   // stream read before the error
		wantErr error    // io.EOF or ErrWebSocket
		replies [][]byte // frames the server must send back
	}{
		{"fragmented with ping between", [][]byte{
			rawFrame(false, wsBinary, []byte("hel"), mask),
			rawFrame(true, wsPing, []byte("p"), mask),
			rawFrame(false, wsContinuation, []byte("lo "), mask),
			rawFrame(true, wsContinuation, []byte("world"), mask),
			rawFrame(true, wsText, []byte("!"), mask),
			rawFrame(true, wsClose, []byte{0x03, 0xE8}, mask),
		}, "hello world!", io.EOF, [][]byte{rawFrame(true, wsPong, []byte("p"), nil), rawFrame(true, wsClose, []byte{0x03, 0xE8}, nil)}},
		{"unmasked client frame", [][]byte{rawFrame(true, wsBinary, []byte("x"), nil)}, "", ErrWebSocket,
			[][]byte{rawFrame(true, wsClose, []byte{0x03, 0xEA}, nil)}},
		{"frame over the limit", [][]byte{rawFrame(true, wsBinary, make([]byte, 300), mask)}, "", ErrWebSocket,
			[][]byte{rawFrame(true, wsClose, []byte{0x03, 0xF1}, nil)}},
		{"continuation without start", [][]byte{rawFrame(true, wsContinuation, []byte("x"), mask)}, "", ErrWebSocket, nil},
		{"reserved bits", [][]byte{{0xC2, 0x80, 1, 2, 3, 4}}, "", ErrWebSocket, nil},
		{"long control frame", [][]byte{rawFrame(true, wsPing, make([]byte, 126), mask)}, "", ErrWebSocket, nil},
		{"unknown opcode", [][]byte{rawFrame(true, 0x3, []byte("x"), mask)}, "", ErrWebSocket, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, peer, out := wsPipe(t, 256)
			go func() {
				for _, f := range tt.frames {
					if _, err := peer.Write(f); err != nil {
						return
					}
				}
			}()
			got, err := io.ReadAll(ws)
			if err == nil {
				err = io.EOF // ReadAll swallows EOF
			}
			if string(got) != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("read %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			ws.Conn.Close()
			var sent []byte
			for b := range out {
				sent = append(sent, b...)
			}
			var want []byte
			for _, r := range tt.replies {
				want = append(want, r...)
			}
			if !bytes.HasPrefix(sent, want) {
				t.Fatalf("server sent % x, want prefix % x", sent, want)
			}
		})
	}
}

// A client-side wsConn masks its frames and reads the server's.
func TestWSConnRoundTrip(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	srv := New(a, nil, false, 0)
	cli := New(b, nil, true, 0)
	big := bytes.Repeat([]byte("z"), MaxWriteData+10)
	errc := make(chan error, 1)
	go func() {
		_, err := cli.Write(big)
		errc <- err
	}()
	got := make([]byte, len(big))
	if _, err := io.ReadFull(srv, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	go func() { _, err := srv.Write([]byte("back")); errc <- err }()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(cli, buf); err != nil || string(buf) != "back" {
		t.Fatalf("client read %q %v", buf, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestAccept(t *testing.T) {
	// The handshake's accept value (RFC 6455 section 1.3 example).
	if got := Accept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %q", got)
	}
}
