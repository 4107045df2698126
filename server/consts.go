package server

import (
	"errors"
	"fmt"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// contextKey is the type of the server's context keys. Its values are
// pointers, so keys of different packages never collide.
type contextKey struct {
	name string
}

// String names the key for debugging.
func (k *contextKey) String() string { return "rpcx context value " + k.name }

// Context keys whose values the server puts in every handler ctx (rpcx
// names and values).
var (
	// RemoteConnContextKey holds the net.Conn the request arrived on. Pass
	// it to Server.SendMessage to notify that client.
	RemoteConnContextKey = &contextKey{"remote-conn"}
	// StartRequestContextKey holds the time the request was read, as an
	// int64 of Unix nanoseconds (as in rpcx): the requests that arrived in
	// one read share the time of that read.
	StartRequestContextKey = &contextKey{"start-parse-request"}
	// StartSendRequestContextKey holds the time the response was handed to
	// the connection's writer, as an int64 of Unix nanoseconds; it is set
	// once the handler has returned (0 before) when something reads it
	// then: PreWriteResponse or PostWriteResponse plugins, call observers.
	StartSendRequestContextKey = &contextKey{"start-send-request"}
	// TagContextKey is reserved for service tags (map[string]interface{}),
	// set by plugins; the server itself does not set it.
	TagContextKey = &contextKey{"service-tag"}
	// HttpConnContextKey holds the HTTP connection of requests that arrive
	// through the HTTP gateway.
	HttpConnContextKey = &contextKey{"http-conn"}
)

// Sentinel errors of the server package.
var (
	// ErrServerClosed is returned by Serve and ServeListener after Close or
	// Shutdown (rpcx text).
	ErrServerClosed = errors.New("http: Server closed")
	// ErrReqReachLimit is returned by rate-limiting plugins; the request is
	// answered with this error and the connection stays open.
	ErrReqReachLimit = errors.New("request reached rate limit")
	// ErrNotAccept is the error of a connection refused by a
	// PostConnAcceptPlugin.
	ErrNotAccept = errors.New("server refused the connection")
	// ErrShuttingDown is the error of requests that arrive after a graceful
	// Shutdown began. Clients see its text with code CodeUnavailable and
	// metadata share.DrainKey.
	ErrShuttingDown = share.NewError(share.CodeUnavailable, "server is shutting down")
	// ErrConnNotFound is returned by SendMessage when the connection is not
	// (or no longer) served by this server.
	ErrConnNotFound = errors.New("server: connection not found")
	// ErrNotifyQueueFull is returned by SendMessage when the connection has
	// too many notifications waiting to be written.
	ErrNotifyQueueFull = errors.New("server: notification queue full")
	// ErrUnsupportedNetwork is returned by Serve for a network without a
	// registered MakeListener.
	ErrUnsupportedNetwork = errors.New("server: unsupported network")
	// ErrBadRegistration is returned (wrapped, with the reason and the name
	// of the service or method) when a registration is refused.
	ErrBadRegistration = errors.New("server: registration refused")
)

// HTTP gateway headers (rpcx names): aliases of the protocol.Header*
// constants, where they are defined.
const (
	XVersion           = protocol.HeaderVersion
	XMessageType       = protocol.HeaderMessageType
	XHeartbeat         = protocol.HeaderHeartbeat
	XOneway            = protocol.HeaderOneway
	XMessageStatusType = protocol.HeaderMessageStatusType
	XSerializeType     = protocol.HeaderSerializeType
	XCompressType      = protocol.HeaderCompressType
	XMessageID         = protocol.HeaderMessageID
	XServicePath       = protocol.HeaderServicePath
	XServiceMethod     = protocol.HeaderServiceMethod
	XMeta              = protocol.HeaderMeta
	XErrorMessage      = protocol.HeaderErrorMessage
)

// JSON-RPC 2.0 error codes (rpcx names).
const (
	CodeUnknownJSONRPCError   = -32001
	CodeParseJSONRPCError     = -32700
	CodeInvalidjsonrpcRequest = -32600
	CodeMethodNotFound        = -32601
	CodeInvalidParams         = -32602
	CodeInternalJSONRPCError  = -32603
)

// ReaderBuffsize and WriterBuffsize are rpcx's buffer size constants, kept
// for source compatibility. courier's connections read through a buffer of
// at least readBufferSize bytes and batch writes in their own buffer.
const (
	ReaderBuffsize = 1024
	WriterBuffsize = 1024
)

// readBufferSize is the size of each connection's bufio.Reader (and of
// the head an idle connection wakes into): an idle connection holds none
// (conn_idle.go), and 16 KiB lets one read bring the whole batch a busy
// client writes at once (about 25 frames of 600 bytes), which the reader
// answers with one write (endBatch); frames longer than it are read
// straight into the message.
const readBufferSize = 16 << 10

// Reset is implemented by argument and reply types that can be reset for
// reuse (rpcx pools them). courier allocates arguments and replies per call
// and never reuses them, so Reset is not called.
type Reset interface {
	Reset()
}

// RpcServiceInternalError is the error of a handler that panicked. Its
// Error text names the panic value and the method; String adds the stack.
// It carries share.CodeInternal.
type RpcServiceInternalError struct {
	Err    string
	Method string
	Argv   interface{}
	stack  string
}

// Error describes the panic without the stack (the text is sent to the
// client).
func (e RpcServiceInternalError) Error() string {
	return fmt.Sprintf("[service internal error]: %v, method: %s, argv: %+v", e.Err, e.Method, e.Argv)
}

// String describes the panic with the stack.
func (e RpcServiceInternalError) String() string {
	return fmt.Sprintf("[service internal error]: %v, method: %s, argv: %+v, stack: %s", e.Err, e.Method, e.Argv, e.stack)
}

// Code returns share.CodeInternal.
func (e RpcServiceInternalError) Code() share.Code { return share.CodeInternal }

// codeError gives err a code while keeping its text.
type codeError struct {
	code share.Code
	err  error
}

func (e *codeError) Error() string    { return e.err.Error() }
func (e *codeError) Unwrap() error    { return e.err }
func (e *codeError) Code() share.Code { return e.code }

func withCode(c share.Code, err error) error { return &codeError{code: c, err: err} }
