package client

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/protocol"
)

// Call is one asynchronous call made with Go. When it completes, Error is
// set and the call is sent on Done.
type Call struct {
	ServicePath   string
	ServiceMethod string
	Metadata      map[string]string
	ResMetadata   map[string]string
	Args          interface{}
	Reply         interface{}
	Error         error
	Done          chan *Call
	Raw           bool
}

// RPCClient is a connection to one server. *Client implements it; the
// XClient caches one per server address.
type RPCClient interface {
	Connect(network, address string) error
	Go(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, done chan *Call) *Call
	Call(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}) error
	SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error)
	Close() error
	RemoteAddr() string
	RegisterServerMessageChan(ch chan<- *protocol.Message)
	UnregisterServerMessageChan()
	IsClosing() bool
	IsShutdown() bool
	GetConn() net.Conn
}
