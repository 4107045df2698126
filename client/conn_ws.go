package client

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

func init() {
	ConnFactories["ws"] = dialWS
	ConnFactories["wss"] = dialWS
}

// dialWS dials the "ws" and "wss" networks: a WebSocket (RFC 6455)
// connection to ws[s]://address + Option.RPCPath whose binary frames carry
// the rpcx protocol (rpcx's websocket transport). wss uses
// Option.TLSConfig, or the system roots when it is nil. Dialing and the
// handshake are bounded by Option.ConnectTimeout. Errors of the handshake
// wrap ErrWebSocket.
func dialWS(c *Client, network, address string) (net.Conn, error) {
	ctx, cancel := c.connectContext()
	defer cancel()
	d := net.Dialer{}
	if p := c.option.TCPKeepAlivePeriod; p > 0 {
		d.KeepAlive = p
	}
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	scheme := "http"
	if network == "wss" {
		scheme = "https"
		cfg := c.option.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if conn, err = tlsHandshake(ctx, conn, cfg, address); err != nil {
			return nil, err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	ws, err := wsHandshake(conn, scheme, address, c.option.RPCPath, c.option.MaxMessageLength)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ws, nil
}

// wsHandshake sends the upgrade request and checks the answer.
func wsHandshake(conn net.Conn, scheme, address, path string, maxMessage int) (net.Conn, error) {
	if path == "" {
		path = share.DefaultRPCPath
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nOrigin: " + scheme + "://" + address + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, fmt.Errorf("client: websocket handshake with %s: %w", address, err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("client: websocket handshake with %s: %w", address, err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(res.Header.Get("Upgrade"), "websocket") ||
		res.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		return nil, fmt.Errorf("%w: %s answered the handshake with %q", ErrWebSocket, address, res.Status)
	}
	var maxFrame int64
	switch {
	case maxMessage == protocol.NoLimit:
	case maxMessage <= 0:
		maxFrame = int64(max(protocol.DefaultLimits().MaxMessageLength+protocol.HeaderSize, wsMaxWriteData))
	default:
		maxFrame = int64(max(maxMessage+protocol.HeaderSize, wsMaxWriteData))
	}
	return newWSConn(conn, br, true, maxFrame), nil
}
