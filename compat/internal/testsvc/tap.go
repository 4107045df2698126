package testsvc

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"net"
	"strings"
	"sync"
	"testing"
)

// tapKeep is how many bytes a Tap keeps per direction.
const tapKeep = 1 << 20

// Tap is a TCP proxy on 127.0.0.1 that forwards every connection to a
// target and records the bytes in both directions, so that tests can look at
// the frames on the wire and print them in hex when they fail. It is safe for
// concurrent use.
type Tap struct {
	t      testing.TB
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    []net.Conn
	accepted int    // client connections accepted
	ended    int    // proxied connections that ended
	c2s      []byte // client to server
	s2c      []byte // server to client
	closed   bool
}

// NewTap starts a proxy to target; t.Cleanup stops it and, if the test
// failed, logs the recorded frames in hex.
func NewTap(t testing.TB, target string) *Tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tap listen: %v", err)
	}
	p := &Tap{t: t, target: target, ln: ln}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("frames client->server:\n%s", FormatFrames(p.ClientBytes()))
			t.Logf("frames server->client:\n%s", FormatFrames(p.ServerBytes()))
		}
	})
	return p
}

// Addr is the address clients dial instead of the target.
func (p *Tap) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and closes every proxied connection.
func (p *Tap) Close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}

// Conns returns how many client connections the tap accepted and how many
// of them have ended (closed by either side).
func (p *Tap) Conns() (accepted, ended int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.ended
}

// ClientBytes returns a copy of what clients sent.
func (p *Tap) ClientBytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.c2s...)
}

// ServerBytes returns a copy of what the target sent back.
func (p *Tap) ServerBytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.s2c...)
}

func (p *Tap) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			_ = s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.accepted++
		p.mu.Unlock()
		p.wg.Add(2)
		var once sync.Once
		end := func() {
			once.Do(func() {
				p.mu.Lock()
				p.ended++
				p.mu.Unlock()
			})
		}
		go p.pipe(s, c, &p.c2s, end)
		go p.pipe(c, s, &p.s2c, end)
	}
}

// pipe copies from src to dst, recording into rec; when either side ends it
// closes both, so that a server closing its connection is seen by the
// client.
func (p *Tap) pipe(dst, src net.Conn, rec *[]byte, end func()) {
	defer p.wg.Done()
	defer end()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if room := tapKeep - len(*rec); room > 0 {
				*rec = append(*rec, buf[:min(n, room)]...)
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = src.Close()
	_ = dst.Close()
}

// Frame is one frame cut from a recorded byte stream.
type Frame struct {
	// Bytes is the whole frame, header included.
	Bytes []byte
}

// Flags returns header byte 2 (type, heartbeat, oneway, compress, status).
func (f Frame) Flags() byte { return f.Bytes[2] }

// IsResponse reports the message-type bit.
func (f Frame) IsResponse() bool { return f.Bytes[2]&0x80 != 0 }

// IsHeartbeat reports the heartbeat bit.
func (f Frame) IsHeartbeat() bool { return f.Bytes[2]&0x40 != 0 }

// IsOneway reports the oneway bit.
func (f Frame) IsOneway() bool { return f.Bytes[2]&0x20 != 0 }

// CompressType returns the compress bits.
func (f Frame) CompressType() byte { return (f.Bytes[2] & 0x1c) >> 2 }

// Status returns the status bits (1 = error).
func (f Frame) Status() byte { return f.Bytes[2] & 0x03 }

// SerializeType returns the serialize type nibble.
func (f Frame) SerializeType() byte { return f.Bytes[3] >> 4 }

// Seq returns the message ID.
func (f Frame) Seq() uint64 { return binary.BigEndian.Uint64(f.Bytes[4:12]) }

// Method returns the service path and method.
func (f Frame) Method() (path, method string) {
	b := f.Bytes[16:]
	path, b = cutString(b)
	method, _ = cutString(b)
	return path, method
}

// Metadata returns the decoded metadata section.
func (f Frame) Metadata() map[string]string {
	b := f.Bytes[16:]
	_, b = cutString(b)
	_, b = cutString(b)
	md, _ := cutString(b)
	out := map[string]string{}
	rest := []byte(md)
	for len(rest) > 0 {
		var k, v string
		k, rest = cutString(rest)
		v, rest = cutString(rest)
		out[k] = v
	}
	return out
}

// cutString reads a uint32-length-prefixed field; on short input it
// returns what there is.
func cutString(b []byte) (string, []byte) {
	if len(b) < 4 {
		return "", nil
	}
	n := int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if n > len(b) {
		n = len(b)
	}
	return string(b[:n]), b[n:]
}

// errShortFrame reports a recorded stream that ends inside a frame.
var errShortFrame = errors.New("stream ends inside a frame")

// Frames cuts a recorded stream into frames. A trailing partial frame is
// reported with an error beside the complete ones.
func Frames(stream []byte) ([]Frame, error) {
	var out []Frame
	for len(stream) > 0 {
		if len(stream) < 16 {
			return out, fmt.Errorf("%w: %d header bytes", errShortFrame, len(stream))
		}
		n := 16 + int(binary.BigEndian.Uint32(stream[12:16]))
		if n > len(stream) {
			return out, fmt.Errorf("%w: want %d bytes, have %d", errShortFrame, n, len(stream))
		}
		out = append(out, Frame{Bytes: stream[:n]})
		stream = stream[n:]
	}
	return out, nil
}

// FormatFrames renders a recorded stream frame by frame in hex, each frame
// cut after 256 bytes.
func FormatFrames(stream []byte) string {
	frames, err := Frames(stream)
	var b strings.Builder
	for i, f := range frames {
		if i >= 64 {
			fmt.Fprintf(&b, "  ... %d more frames\n", len(frames)-i)
			break
		}
		path, method := f.Method()
		h := f.Bytes
		suffix := ""
		if len(h) > 256 {
			h, suffix = h[:256], fmt.Sprintf("...(%d bytes)", len(f.Bytes))
		}
		fmt.Fprintf(&b, "  #%d seq=%d flags=%#02x st=%d %s.%s md=%v\n    %s%s\n", i, f.Seq(), f.Flags(), f.SerializeType(), path, method, f.Metadata(), hex.EncodeToString(h), suffix)
	}
	if err != nil {
		fmt.Fprintf(&b, "  (%v)\n", err)
	}
	if len(frames) == 0 && err == nil {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

// WaitFrame reports whether a frame of the recorded server->client stream
// matches ok; it does not block.
func (p *Tap) WaitFrame(ok func(Frame) bool) bool {
	frames, _ := Frames(p.ServerBytes())
	for _, f := range frames {
		if ok(f) {
			return true
		}
	}
	return false
}
