package server

import (
	"bufio"
	"net"

	"github.com/courier-rpc/courier/util/wsconn"
)

// ErrWebSocket is wrapped by errors of the WebSocket framing (bad frames,
// frames over the size limit, a failed handshake).
var ErrWebSocket = wsconn.ErrWebSocket

func wsAccept(key string) string { return wsconn.Accept(key) }

func newWSConn(nc net.Conn, br *bufio.Reader, client bool, maxFrame int64) net.Conn {
	return wsconn.New(nc, br, client, maxFrame)
}

const wsMaxWriteData = wsconn.MaxWriteData
