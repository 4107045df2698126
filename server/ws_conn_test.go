package server

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestWSHandshakeRefused(t *testing.T) {
	_, addr := newArithServer(t)
	tests := []struct {
		name    string
		version string
		key     string
		status  int
	}{
		{"old version", "8", "dGhlIHNhbXBsZSBub25jZQ==", http.StatusUpgradeRequired},
		{"bad key", "13", "short", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			req := "GET /_rpcx_ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: " +
				tt.version + "\r\nSec-WebSocket-Key: " + tt.key + "\r\n\r\n"
			if _, err := conn.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
}
