package client

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakePeer accepts one connection, reads the HTTP request head and
// answers with answer(head).
func fakePeer(t *testing.T, answer func(head string) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\n" || line == "\r\n" {
				break
			}
		}
		if _, err := conn.Write(answer(head.String())); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, br) // until the client closes
	}()
	return ln.Addr().String()
}

func TestDialHTTPConnect(t *testing.T) {
	tests := []struct {
		name     string
		answer   string
		wantErr  error // nil: success
		wantRead string
	}{
		{"connected with bytes read ahead", "HTTP/1.0 200 Connected to rpcx\n\nahead", nil, "ahead"},
		{"refused", "HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n", ErrHTTPConnect, ""},
		{"not http", "\x08\x00garbage\n\n", errors.New("any"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			heads := make(chan string, 1)
			addr := fakePeer(t, func(head string) []byte { heads <- head; return []byte(tt.answer) })
			opt := DefaultOption
			opt.RPCPath = "/custom"
			c := NewClient(opt)
			conn, err := dialHTTP(c, "http", addr)
			if tt.wantErr != nil {
				if err == nil {
					conn.Close()
					t.Fatal("dial succeeded")
				}
				if errors.Is(tt.wantErr, ErrHTTPConnect) && !errors.Is(err, ErrHTTPConnect) {
					t.Fatalf("err %v, want ErrHTTPConnect", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if head := <-heads; head != "CONNECT /custom HTTP/1.0\n\n" {
				t.Fatalf("request %q", head)
			}
			buf := make([]byte, len(tt.wantRead))
			if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != tt.wantRead {
				t.Fatalf("read %q %v", buf, err)
			}
		})
	}
}

func TestDialWebSocket(t *testing.T) {
	accept := func(head string) string {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil {
			return ""
		}
		return wsAccept(r.Header.Get("Sec-WebSocket-Key"))
	}
	tests := []struct {
		name    string
		answer  func(head string) []byte
		wantErr error
		read    string
	}{
		{"ok, unmasked server frame", func(h string) []byte {
			return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(h) + "\r\n\r\n\x82\x02hi")
		}, nil, "hi"},
		{"masked server frame", func(h string) []byte {
			return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept(h) + "\r\n\r\n\x82\x82\x00\x00\x00\x00hi")
		}, ErrWebSocket, ""},
		{"wrong accept", func(h string) []byte {
			return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bogus\r\n\r\n")
		}, ErrWebSocket, ""},
		{"not upgraded", func(string) []byte { return []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") }, ErrWebSocket, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakePeer(t, tt.answer)
			conn, err := dialWS(NewClient(DefaultOption), "ws", addr)
			if err != nil {
				if !errors.Is(err, tt.wantErr) || tt.wantErr == nil {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			defer conn.Close()
			buf := make([]byte, 2)
			_, err = io.ReadFull(conn, buf)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("read err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(buf) != tt.read {
				t.Fatalf("read %q %v", buf, err)
			}
		})
	}
}
