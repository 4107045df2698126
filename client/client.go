package client

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/courier-rpc/courier/internal/cacheline"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Buffer sizes of a Client's connection.
const (
	// ReaderBuffsize is the size of a connection's read buffer (16 KiB). On
	// TCP and Unix connections it is taken from a pool while bytes arrive
	// and returned while the connection is idle.
	ReaderBuffsize = 16 * 1024
	// WriterBuffsize is the rpcx name of the write buffer size (16 KiB).
	// courier's write buffers come from a pool and grow with the batch, so
	// it is only informational.
	WriterBuffsize = 16 * 1024
)

// FileTransferBufferSize is the chunk size of file transfers (1 KiB, rpcx value).
const FileTransferBufferSize = 1024

// Header names of the raw response map returned by SendRaw (and used by the
// HTTP gateway): aliases of the protocol.Header* constants, where they are
// defined. The spelling is rpcx's client package's: XMessageType is
// protocol.HeaderMessageTypeLegacy, with three s on purpose.
const (
	// XVersion is the protocol version.
	XVersion = protocol.HeaderVersion
	// XMessageType is the message type header (rpcx spelling, sic).
	XMessageType = protocol.HeaderMessageTypeLegacy
	// XHeartbeat is "true" for a heartbeat.
	XHeartbeat = protocol.HeaderHeartbeat
	// XOneway is "true" for a oneway message.
	XOneway = protocol.HeaderOneway
	// XMessageStatusType is "Normal" or "Error".
	XMessageStatusType = protocol.HeaderMessageStatusType
	// XSerializeType is the decimal serialize type.
	XSerializeType = protocol.HeaderSerializeType
	// XMessageID is the decimal message ID.
	XMessageID = protocol.HeaderMessageID
	// XServicePath is the service path.
	XServicePath = protocol.HeaderServicePath
	// XServiceMethod is the service method.
	XServiceMethod = protocol.HeaderServiceMethod
	// XMeta is the metadata in URL query form.
	XMeta = protocol.HeaderMeta
	// XErrorMessage is the error text of an error response.
	XErrorMessage = protocol.HeaderErrorMessage
)

// Local failure causes. Calls fail with errors that wrap ErrShutdown and
// one of these (or the I/O error that killed the connection).
var (
	errClientClosed     = errors.New("client: closed")
	errNotConnected     = errors.New("client: not connected")
	errAlreadyConnected = errors.New("client: already connected")
	errHeartbeatTimeout = errors.New("client: heartbeat timed out")
)

var _ RPCClient = (*Client)(nil)

// Client is one connection to one server. Many goroutines may call it at
// once: their requests are multiplexed on the connection, written in
// batches by the caller that finds no write in progress (group commit; no
// writer goroutine) and matched to responses by one reader goroutine, the
// only goroutine of an idle connection (plus the heartbeat when enabled).
//
// Create it with NewClient, then Connect. A Client never reconnects: after
// the connection fails (IsShutdown reports true) every call fails with an
// error wrapping ErrShutdown; make a new Client (XClient does this for you).
//
// Conn is the connection once Connect succeeded. Plugins, when non-nil, runs
// the connection and encode/decode hooks; set it before Connect.
// ServerMessageChan receives server notifications (see
// RegisterServerMessageChan).
type Client struct {
	Conn              net.Conn
	Plugins           PluginContainer
	ServerMessageChan chan<- *protocol.Message

	option  Option
	codecs  *share.CodecTable
	limits  protocol.Limits
	errFunc func(*protocol.Message, string) ServiceError
	trace   bool   // share.Trace at NewClient
	remote  string // Conn.RemoteAddr().String(), set by start before any call

	closing  atomic.Bool   // Close was called (set under mu)
	shutdown atomic.Bool   // the connection is dead, pending calls failed (set under mu)
	draining atomic.Bool   // the server sent its drain notice
	done     chan struct{} // closed on shutdown

	// The fields above are read by every call and written once or at
	// shutdown; each group below is written by every call (registration
	// by the caller and the reader, the queue by the callers). Padding
	// keeps the groups on cache lines of their own, so that one call's
	// writes do not evict what the other cores' calls read.
	_ cacheline.Pad

	seq      atomic.Uint64
	mu       sync.Mutex // guards the fields below and ServerMessageChan
	pending  map[uint64]*rpcCall
	started  bool        // Connect began (set before dialing, cleared if the dial fails)
	shutErr  error       // what calls fail with after shutdown (wraps ErrShutdown)
	inReader atomic.Bool // the reader goroutine is running user code

	_ cacheline.Pad

	// write side (see "Who owns what" in client_io.go)
	wmu     sync.Mutex
	wq      *[]byte // frames queued while a write is in progress
	wopen   bool    // start installed wconn
	wclosed bool    // shutdown: nothing more is queued
	wbusy   bool    // a caller is writing (the flusher)
	wconn   net.Conn

	_ cacheline.Pad

	wg       sync.WaitGroup
	dropped  atomic.Uint64 // notifications dropped because the channel was full
	lastWarn atomic.Int64  // unix nanos of the last drop warning
}

// NewClient returns an unconnected client with the given option. It copies
// the codec table (share.Codecs), ClientErrorFunc and share.Trace now;
// later changes to them do not affect this client.
func NewClient(option Option) *Client {
	return &Client{
		option:  option,
		codecs:  share.NewCodecTable(),
		limits:  protocol.Limits{MaxMessageLength: option.MaxMessageLength}.Resolve(),
		errFunc: ClientErrorFunc,
		trace:   share.Trace,
		pending: make(map[uint64]*rpcCall),
		done:    make(chan struct{}),
	}
}

// RemoteAddr returns the server's address, or "" before Connect.
func (client *Client) RemoteAddr() string {
	if client.Conn == nil {
		return ""
	}
	return client.Conn.RemoteAddr().String()
}

// GetConn returns the connection (nil before Connect).
func (client *Client) GetConn() net.Conn { return client.Conn }

// IsClosing reports whether Close was called or the server sent its drain
// notice on this connection. A closing client takes no new calls; callers
// that cache clients should replace it.
func (client *Client) IsClosing() bool {
	return client.draining.Load() || client.closing.Load()
}

// IsShutdown reports whether the connection is dead (closed by Close, by
// the server, by an I/O error or by a missed heartbeat). It is false before
// Connect.
func (client *Client) IsShutdown() bool { return client.shutdown.Load() }

// RegisterServerMessageChan sets the channel that receives server
// notifications. Delivery does not block unless Option.BidirectionalBlock
// is set: when the channel is full the notification is dropped and counted
// (DroppedServerMessages). The client never closes ch; after the
// connection dies no more messages are sent on it.
func (client *Client) RegisterServerMessageChan(ch chan<- *protocol.Message) {
	client.mu.Lock()
	client.ServerMessageChan = ch
	client.mu.Unlock()
}

// UnregisterServerMessageChan removes the notification channel.
func (client *Client) UnregisterServerMessageChan() {
	client.mu.Lock()
	client.ServerMessageChan = nil
	client.mu.Unlock()
}

// DroppedServerMessages returns how many server notifications were dropped
// because the registered channel was full.
func (client *Client) DroppedServerMessages() uint64 { return client.dropped.Load() }

// Close closes the connection. Frames already handed to the connection
// (a oneway message whose send returned, above all) are written first: Close
// waits up to closeWriteWait for a write in progress to finish. Calls in
// flight fail with an error wrapping ErrShutdown. Close is idempotent, safe to call concurrently with calls and
// on a client that never connected; it returns nil after the first call. It
// waits for the client's goroutines to stop, unless it is called from a
// hook or handler running on the client's reader goroutine.
func (client *Client) Close() error {
	client.mu.Lock()
	if client.closing.Load() {
		client.mu.Unlock()
		return nil
	}
	client.closing.Store(true)
	client.mu.Unlock()
	client.drainWrites()
	client.terminate(errClientClosed)
	if !client.inReader.Load() {
		client.wg.Wait()
	}
	return nil
}

// terminate shuts the connection down once: it records the cause, stops the
// goroutines, closes the connection and fails every pending call.
func (client *Client) terminate(cause error) {
	client.mu.Lock()
	if client.shutdown.Load() {
		client.mu.Unlock()
		return
	}
	client.shutdown.Store(true)
	client.shutErr = shutdownError(cause)
	pending := client.pending
	client.pending = make(map[uint64]*rpcCall)
	conn := client.Conn
	client.mu.Unlock()

	client.wmu.Lock()
	client.wclosed = true
	client.wq = nil // dropped: the pending calls fail below
	client.wmu.Unlock()
	close(client.done)

	if conn != nil {
		_ = conn.Close()
		if client.Plugins != nil {
			_ = client.Plugins.DoClientConnectionClose(conn)
		}
	}
	for _, rc := range pending {
		client.complete(rc, nil, client.shutErr)
	}
}

func shutdownError(cause error) error {
	if cause == nil || errors.Is(cause, ErrShutdown) {
		return ErrShutdown
	}
	return fmt.Errorf("%w: %w", ErrShutdown, cause)
}

// shutdownErr returns the error calls fail with after shutdown.
func (client *Client) shutdownErr() error {
	client.mu.Lock()
	defer client.mu.Unlock()
	if client.shutErr != nil {
		return client.shutErr
	}
	return shutdownError(errNotConnected)
}

// pendingLen returns the number of calls waiting for a response (tests).
func (client *Client) pendingLen() int {
	client.mu.Lock()
	defer client.mu.Unlock()
	return len(client.pending)
}
