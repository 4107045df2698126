package client

import (
	"bufio"
	"net"

	"github.com/courier-rpc/courier/util/wsconn"
)

func wsAccept(key string) string { return wsconn.Accept(key) }

func newWSConn(nc net.Conn, br *bufio.Reader, client bool, maxFrame int64) net.Conn {
	return wsconn.New(nc, br, client, maxFrame)
}

// ErrWebSocket is wrapped by errors of the WebSocket framing and handshake.
var ErrWebSocket = wsconn.ErrWebSocket

const wsMaxWriteData = wsconn.MaxWriteData
