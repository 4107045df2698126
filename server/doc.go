// Package server serves rpcx-protocol services: plain Go methods, functions
// and typed handlers become remote methods that courier and rpcx clients
// call over TCP, TLS, Unix sockets or the in-process memu network.
//
// # Registering
//
// Register (or RegisterName) publishes every exported method of shape
//
//	func (t *T) Method(ctx context.Context, args *Args, reply *Reply) error
//
// args may also be a non-pointer; reply must be a pointer; Args and Reply
// must be exported or builtin types. Exported methods of any other shape
// are skipped and cannot be called ("rpcx: can't find method X"); a method
// whose first parameter is context.Context but is otherwise malformed, a
// type without RPC methods and a name registered twice are refused with an
// error wrapping ErrBadRegistration that names the culprit. RegisterFunction
// publishes a function of the same shape under its Go name. Reflection is
// used at registration; per call the server gets args and reply and, when
// both are pointers, calls the method directly through a function value
// stored at registration (no reflect.Value.Call; see invoke_direct.go),
// else through reflect.Value.Call. As in rpcx, args and reply values whose
// type has a Reset method (see Resetter; protobuf messages have one) are
// reset and reused by later calls once their call is done, so a handler
// must not keep them past its return; WithValueReuse(false) allocates
// fresh values instead. The reply is encoded into the buffer of its pooled
// response message when the codec is a codec.Appender.
//
// Handle and HandleFunc register typed handlers with no reflection at all:
//
//	server.Handle(s, "Arith", "Mul", func(ctx context.Context, a *Args, r *Reply) error { ... })
//
// A wrong signature is a compile error. AddHandler routes a method to a
// Handler that reads and writes the request itself through a *Context.
//
// # Serving and lifecycle
//
// Serve(network, address) listens on tcp, tcp4, tcp6, unix, memu or
// reuseport (TCP with SO_REUSEPORT, Linux: several servers share one
// port), with TLS on all of them with WithTLSConfig, and on quic (build tag
// quic; WithTLSConfig required, ALPN "rpcx" by default) or kcp (build tag
// kcp; WithBlockCrypt required, TLS optional); builds without a tag fail
// those networks with an error naming the tag. "http" serves HTTP with
// rpcx's CONNECT handler at /_rpcx_, "ws" and "wss" serve the protocol over
// WebSocket. Every stream listener sniffs the first bytes of a connection:
// 0x08 is the binary protocol; an HTTP method token (upper-case letters and
// a space) is HTTP/1; anything else is closed without an answer, as rpcx
// does. On HTTP/1, CONNECT
// switches to the binary protocol, a WebSocket upgrade to WebSocket, a
// request with "X-JSONRPC-2.0: true" is JSON-RPC 2.0 and one with
// X-RPCX-* headers is an HTTP invocation (see ServeHTTP, DisableHTTPGateway,
// DisableJSONRPC, SetCORS). More networks come with
// RegisterMakeListener. IPv6 addresses ("[::1]:8972") work on every IP
// network. Serve serves until Close or Shutdown, then returns
// ErrServerClosed. Started
// is closed once the first listener accepts. Shutdown(ctx) is graceful:
// listeners close, every connection gets the drain notice (a heartbeat
// response with message ID share.DrainSeq and metadata share.DrainKey),
// requests arriving later are answered with "server is shutting down"
// (code share.CodeUnavailable, metadata share.DrainKey), requests already
// received complete and their replies are written, then connections close
// and the RegisterOnShutdown hooks run once. If ctx ends first, Shutdown
// force-closes everything, cancels handler ctxs and returns ctx.Err().
// Close does the forced part at once. No signal handling is installed.
//
// # The request path
//
// Each connection has one reader goroutine that decodes frames through a
// buffered reader into pooled messages, enforcing the server's limits
// (frame length, metadata entries, inflated gzip size). Requests run on
// the reader itself, one after the other (no hand-off), and the replies to
// the frames of one read go out with one write before the reader reads
// again; with WithPool or WithCustomPool every request runs on a pool of
// long-lived workers instead (unbounded by default, bounded with WithPool,
// replaced with WithCustomPool). A watchdog lets a new goroutine take
// over reading when a handler runs on the reader longer than
// WithInlineGrace (default 1ms), so a slow handler holds up its
// connection's other requests for two grace periods at most (a handler
// waiting for a later call on its own connection does not deadlock); that
// method then runs on workers for its
// next 64 calls, and Stats().ReaderTakeovers counts takeovers. There is
// no writer goroutine: the reader writes its replies, a reply run on a
// worker that is its connection's only request in flight is written by
// its handler's goroutine, and otherwise replies queue and a flush on a
// pool worker writes everything queued with one Write. An idle connection
// holds one goroutine with the smallest stack and no read buffer: a plain
// TCP or Unix connection's reader that has waited 100–200 ms hands the
// wait to a fresh goroutine (the stack grown serving calls is freed).
// Heartbeats are answered by the reader; oneway requests
// are never answered; a response keeps the request's message ID and
// serialize type, and is compressed with the request's compress type only
// when its payload is over protocol.CompressThreshold bytes (rpcx's rule).
// An HTTP invocation's answer echoes X-RPCX-ServicePath and
// X-RPCX-ServiceMethod and has status 500 when the call failed, 401 when
// authentication failed. A handler panic becomes an error response with
// code CodeInternal. A bad frame closes only its connection (logged at
// Debug or Warn); frames whose body was read whole but break a limit
// (metadata count, inflated size) are answered with an error instead.
// Per-connection logs are Debug only; Stats counts connections and
// requests.
//
// # Files and streams
//
// EnableFileTransfer and EnableStreamService add rpcx's file transfer and
// raw stream services: the RPC returns a single-use token and the address
// of a separate TCP listener, where the client sends the token and then
// raw bytes (see FileTransfer and StreamService). PeerCertificates gives
// handlers and AuthFunc the verified client certificate of a TLS
// connection, for authorization by identity.
//
// # Handler ctx
//
// The ctx of a handler answers share.ReqMetaDataKey (request metadata,
// valid during the call), share.ResMetaDataKey (a map whose entries are
// sent as response metadata), RemoteConnContextKey (the net.Conn, for
// SendMessage), StartRequestContextKey (int64 Unix nanoseconds). When the
// client sent a deadline (share.DeadlineKey, or rpcx's
// share.ServerTimeout, in milliseconds) the ctx has that deadline, capped
// by WithMaxDeadline, and is cancelled when the handler returns; its
// timer is made only when something waits on ctx.Done() (or asks Err
// after the deadline), so a deadline costs a handler that never waits
// nothing but its metadata. The ctx is cancelled when the connection
// closes and when the server is closed or its Shutdown times out.
//
// # Errors
//
// A handler error becomes an error response: status Error, the text
// (ServerErrorFunc(res, err) if set, else err.Error()) in metadata
// protocol.ServiceError and, when share.CodeOf(err) is not CodeUnknown, the
// code in share.ErrorCodeKey. Unknown services and methods get rpcx's
// texts "rpcx: can't find service X" and "rpcx: can't find method X"
// (code CodeUnimplemented).
//
// # Options and defaults
//
//	WithReadTimeout        0 (no idle limit between frames)
//	WithFrameTimeout       30s for one frame once its first byte arrived; also bounds TLS handshakes
//	WithWriteTimeout       30s per batch write (at most a quarter more: the deadline moves only when less is left)
//	WithTCPKeepAlivePeriod 3 minutes
//	WithMaxMessageLength   16 MiB (protocol.DefaultMaxMessageLength)
//	WithMaxMetadataEntries 1024
//	WithMaxDeadline        0 (client deadlines are not capped)
//	WithMaxConnRequests    4096 in-flight requests per connection
//	WithMaxNotifyQueue     1024 queued notifications per connection
//	WithPool               unbounded pool of reused workers, idle exit after 10s
//	                       (idle workers beyond the last second's peak exit within ~2s)
//	WithConcurrencyLimiter none (see NewGradientLimiter)
//	WithMaxInFlight        none
//	WithQueueTimeout       0 (requests over a limit are refused at once)
//	WithMethodConcurrencyLimiter none (per-method limits, queued like the server-wide one)
//
// Requests over the concurrency limit are refused before their payload is
// decoded with ErrOverloaded (share.CodeOverloaded, which courier clients
// retry elsewhere); Stats().Shed and Stats().Expired count the refusals.
package server
