// Package share holds the vocabulary both sides of a call use: metadata
// context keys, reserved metadata keys on the wire, the codec table, error
// codes, and the argument types of the file-transfer and stream services.
package share

import (
	"sync"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
)

// Reserved names shared with rpcx peers.
const (
	// DefaultRPCPath is the HTTP path of HTTP CONNECT and WebSocket transports.
	DefaultRPCPath = "/_rpcx_"
	// AuthKey is the metadata key that carries XClient.Auth's token.
	AuthKey = "__AUTH"
	// ServerAddress is the metadata key some plugins use for the server address.
	ServerAddress = "__ServerAddress"
	// ServerTimeout is rpcx's metadata key for a server-side timeout in
	// milliseconds; courier servers honour it like DeadlineKey.
	ServerTimeout = "__ServerTimeout"
	// SendFileServiceName is the service name of file transfer.
	SendFileServiceName = "_filetransfer"
	// StreamServiceName is the service name of the stream service.
	StreamServiceName = "_streamservice"
	// ContextTagsLock is the key of a Context's tag lock (rpcx name).
	ContextTagsLock = "_tagsLock"
)

// courier's additions on the wire. rpcx peers ignore unknown metadata keys,
// so each is optional: an absent key means rpcx behaviour.
const (
	// DeadlineKey carries the caller's remaining time budget in milliseconds.
	DeadlineKey = "__courier_deadline"
	// ErrorCodeKey carries the numeric Code of an error response beside
	// protocol.ServiceError.
	ErrorCodeKey = "__courier_code"
	// DrainKey marks a server's drain notice: the server is shutting down
	// gracefully and wants no new calls on this connection.
	DrainKey = "__courier_drain"
	// NonIdempotentMetaKey is the key, in a service's registration
	// metadata, of the comma-separated methods that must not be sent
	// again once they may have run (courier addition; rpcx ignores it).
	NonIdempotentMetaKey = "nonidempotent"
	// TraceParentKey and TraceStateKey carry W3C trace context.
	TraceParentKey = "traceparent"
	// TraceStateKey carries W3C trace state.
	TraceStateKey = "tracestate"
	// BaggageKey carries W3C baggage.
	BaggageKey = "baggage"
)

// DrainSeq is the message ID of a drain notice. The notice is a heartbeat
// response with this ID and DrainKey set; an rpcx client finds no pending
// call for it and ignores it.
const DrainSeq = ^uint64(0)

// ContextKey is the type of the metadata context keys.
type ContextKey string

// Metadata context keys (rpcx names and values).
var (
	// ReqMetaDataKey holds a map[string]string of request metadata: set by
	// a caller with context.WithValue, read by a handler from its ctx.
	ReqMetaDataKey = ContextKey("__req_metadata")
	// ResMetaDataKey holds a map[string]string of response metadata: a
	// caller puts an empty map in its ctx and finds the server's response
	// metadata in it after the call; a handler writes into it.
	ResMetaDataKey = ContextKey("__res_metadata")
)

// Trace turns on rpcx-style trace logging of calls: a server logs each
// rpcx-protocol request it starts and the reply it queues, a client each
// Call (start and result) and Go, at INFO level through the log package.
// Default false. Set it before servers and clients are created: NewServer
// and NewClient copy it, and later changes do not affect them.
var Trace bool

// Codecs maps serialize types to codecs. Assign entries (or call
// RegisterCodec) before servers and clients are created: they copy the
// table at construction and never read it per request.
var Codecs = map[protocol.SerializeType]codec.Codec{
	protocol.SerializeNone: &codec.ByteCodec{},
	protocol.JSON:          &codec.JSONCodec{},
	protocol.ProtoBuffer:   &codec.PBCodec{},
	protocol.MsgPack:       &codec.MsgpackCodec{},
	protocol.Thrift:        &codec.ThriftCodec{},
}

var codecsMu sync.Mutex

// RegisterCodec adds or replaces the codec of a serialize type. It is safe
// for concurrent use with other RegisterCodec and CodecTable calls.
func RegisterCodec(t protocol.SerializeType, c codec.Codec) {
	codecsMu.Lock()
	defer codecsMu.Unlock()
	Codecs[t] = c
}

// CodecTable is a fixed table of codecs indexed by serialize type (the
// serialize type has 4 bits, so 16 entries cover all).
type CodecTable [16]codec.Codec

// NewCodecTable copies the current Codecs into a table. Servers and clients
// call it at construction.
func NewCodecTable() *CodecTable {
	codecsMu.Lock()
	defer codecsMu.Unlock()
	var t CodecTable
	for k, c := range Codecs {
		if int(k) < len(t) {
			t[k] = c
		}
	}
	return &t
}

// Get returns the codec of t, or nil.
func (t *CodecTable) Get(st protocol.SerializeType) codec.Codec {
	if int(st) >= len(t) {
		return nil
	}
	return t[st]
}
