package server

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/courier-rpc/courier/protocol"
)

// ErrWSSNeedsTLS is returned by Serve("wss", ...) on a server without
// WithTLSConfig.
var ErrWSSNeedsTLS = errors.New("server: wss needs WithTLSConfig")

func wssMakeListener(s *Server, address string) (net.Listener, error) {
	if s.tlsConfig == nil {
		return nil, ErrWSSNeedsTLS
	}
	return tcpMakeListener("tcp")(s, address)
}

// isWSUpgrade reports whether r asks for a WebSocket upgrade.
func isWSUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHasToken(r.Header, "Connection", "upgrade") &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serveWSUpgrade completes a WebSocket handshake (RFC 6455, version 13)
// and serves the rpcx protocol over binary frames until the connection
// closes. Bad handshakes get 400 (426 for another protocol version). It
// reports whether the connection was taken over.
func (s *Server) serveWSUpgrade(w http.ResponseWriter, r *http.Request) bool {
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "server: websocket version 13 required", http.StatusUpgradeRequired)
		return false
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		http.Error(w, "server: bad Sec-WebSocket-Key", http.StatusBadRequest)
		return false
	}
	nc, rest, ok := hijackConnect(w)
	if !ok {
		return false
	}
	_ = nc.SetDeadline(time.Time{})
	if _, err := io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+wsAccept(key)+"\r\n\r\n"); err != nil {
		nc.Close()
		return true
	}
	var br *bufio.Reader
	if rest != nil {
		br = bufio.NewReader(io.MultiReader(rest, nc))
	}
	s.serveStream(newWSConn(nc, br, false, s.wsMaxFrame()), nil, "")
	return true
}

// wsMaxFrame is the largest WebSocket data frame the server accepts: a
// whole rpcx frame (peers that batch writes send at most 1 MiB frames).
func (s *Server) wsMaxFrame() int64 {
	if s.limits.MaxMessageLength <= 0 {
		return 0
	}
	return int64(max(s.limits.MaxMessageLength+protocol.HeaderSize, wsMaxWriteData))
}

// ServeWS serves the rpcx protocol on conn, an established WebSocket
// connection whose Read and Write carry the byte stream (such as
// golang.org/x/net/websocket's *Conn with binary frames), until it closes.
// Serve("ws"/"wss") and ServeHTTP do the handshake themselves.
func (s *Server) ServeWS(conn net.Conn) {
	s.serveStream(conn, nil, "")
}
