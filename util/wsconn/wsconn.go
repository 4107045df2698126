// Package wsconn is a minimal RFC 6455 WebSocket connection: binary data
// frames carry a byte stream (courier's rpcx frames), so a WebSocket looks
// like any net.Conn. The server's and the client's "ws"/"wss" networks use
// it after their own HTTP handshakes.
//
// It reads text and binary frames alike, because rpcx's own clients
// (golang.org/x/net/websocket with its default payload type) send rpcx
// frames in text frames; github.com/coder/websocket's net.Conn adapter
// refuses those, which is why this package is kept instead of it (the
// compat module's TestRpcxWebSocketClient checks the text-frame case).
package wsconn

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// WebSocket opcodes and limits.
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xA

	wsGUID       = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsMaxControl = 125
)

// MaxWriteData is the largest payload one Write sends as a single message;
// larger writes are split into several.
const MaxWriteData = 1 << 20

// ErrWebSocket is wrapped by errors of the WebSocket framing (bad frames,
// frames over the size limit, a failed handshake).
var ErrWebSocket = errors.New("websocket")

// Accept returns the Sec-WebSocket-Accept value for key.
func Accept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Conn is a net.Conn over WebSocket binary frames. Reads return the
// payload of data frames (fragmented or not) as one stream and answer
// pings and close frames; writes send binary frames, masked by a client.
// Read is for one goroutine; Write and Close are safe for concurrent use.
type Conn struct {
	net.Conn
	br       *bufio.Reader
	client   bool  // mask what we send; expect unmasked frames
	maxFrame int64 // largest data frame payload accepted (<= 0: no limit)

	remaining int64 // unread payload bytes of the current data frame
	masked    bool
	mask      [4]byte
	maskPos   int
	inMessage bool // a fragmented message is being read
	readErr   error

	wmu       sync.Mutex
	closeSent bool
	wbuf      []byte
}

// New wraps nc, whose HTTP upgrade is done, as a WebSocket connection.
// br holds bytes already read from nc (nil: none); client says whether
// this end masks what it sends (RFC 6455: clients do); maxFrame bounds the
// payload of a received frame (<= 0: no limit).
func New(nc net.Conn, br *bufio.Reader, client bool, maxFrame int64) *Conn {
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return &Conn{Conn: nc, br: br, client: client, maxFrame: maxFrame}
}

// Read reads the payload of data frames.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for c.remaining == 0 {
		if c.readErr != nil {
			return 0, c.readErr
		}
		if err := c.nextFrame(); err != nil {
			c.readErr = err
			return 0, err
		}
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	if c.masked {
		for i := 0; i < n; i++ {
			p[i] ^= c.mask[c.maskPos&3]
			c.maskPos++
		}
	}
	c.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// nextFrame reads frame headers, handling control frames, until a data
// frame with payload starts.
func (c *Conn) nextFrame() error {
	var hdr [2]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return err
	}
	fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0F
	if hdr[0]&0x70 != 0 {
		return c.fail(1002, "reserved bits set")
	}
	masked := hdr[1]&0x80 != 0
	if masked == c.client {
		return c.fail(1002, "wrong masking")
	}
	n := int64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return err
		}
		n = int64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return err
		}
		u := binary.BigEndian.Uint64(b[:])
		if u > 1<<62 {
			return c.fail(1009, "frame length out of range")
		}
		n = int64(u)
	}
	var mask [4]byte
	if masked {
		if _, err := io.ReadFull(c.br, mask[:]); err != nil {
			return err
		}
	}
	if op >= wsClose {
		return c.control(op, fin, n, masked, mask)
	}
	switch {
	case op == wsContinuation && !c.inMessage:
		return c.fail(1002, "continuation without a message")
	case (op == wsText || op == wsBinary) && c.inMessage:
		return c.fail(1002, "new message inside a fragmented one")
	case op != wsContinuation && op != wsText && op != wsBinary:
		return c.fail(1002, fmt.Sprintf("unknown opcode %d", op))
	case c.maxFrame > 0 && n > c.maxFrame:
		return c.fail(1009, fmt.Sprintf("frame of %d bytes over the limit of %d", n, c.maxFrame))
	}
	c.inMessage = !fin
	c.remaining, c.masked, c.mask, c.maskPos = n, masked, mask, 0
	return nil
}

// control handles a ping, pong or close frame.
func (c *Conn) control(op byte, fin bool, n int64, masked bool, mask [4]byte) error {
	if !fin || n > wsMaxControl {
		return c.fail(1002, "bad control frame")
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
	}
	switch op {
	case wsPing:
		if err := c.writeFrame(wsPong, payload); err != nil {
			return err
		}
	case wsClose:
		code := []byte{0x03, 0xE8} // 1000: normal closure
		if len(payload) >= 2 {
			code = payload[:2]
		}
		_ = c.writeClose(code)
		return io.EOF
	case wsPong:
	default:
		return c.fail(1002, fmt.Sprintf("unknown opcode %d", op))
	}
	return nil
}

// fail sends a close frame with code and returns the framing error.
func (c *Conn) fail(code uint16, reason string) error {
	_ = c.writeClose([]byte{byte(code >> 8), byte(code)})
	return fmt.Errorf("%w: %s", ErrWebSocket, reason)
}

// Write sends p as binary frames.
func (c *Conn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > MaxWriteData {
			chunk = chunk[:MaxWriteData]
		}
		if err := c.writeFrame(wsBinary, chunk); err != nil {
			return written, err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

// writeFrame writes one final frame of opcode op.
func (c *Conn) writeFrame(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	if op == wsClose {
		c.closeSent = true
	}
	b := append(c.wbuf[:0], 0x80|op)
	var maskBit byte
	if c.client {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, maskBit|byte(n))
	case n <= 0xFFFF:
		b = append(b, maskBit|126, byte(n>>8), byte(n))
	default:
		b = append(b, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if c.client {
		var mask [4]byte
		_, _ = rand.Read(mask[:])
		b = append(b, mask[:]...)
		start := len(b)
		b = append(b, payload...)
		for i := range payload {
			b[start+i] ^= mask[i&3]
		}
	} else {
		b = append(b, payload...)
	}
	_, err := c.Conn.Write(b)
	if cap(b) <= 64<<10 {
		c.wbuf = b[:0]
	} else {
		c.wbuf = nil
	}
	return err
}

func (c *Conn) writeClose(code []byte) error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	return c.writeFrame(wsClose, code)
}

// Close sends a close frame (best effort: not while a write is blocked)
// and closes the connection.
func (c *Conn) Close() error {
	if c.wmu.TryLock() {
		sent := c.closeSent
		c.wmu.Unlock()
		if !sent {
			_ = c.writeClose([]byte{0x03, 0xE8})
		}
	}
	return c.Conn.Close()
}
