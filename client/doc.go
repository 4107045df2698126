// Package client calls courier and rpcx servers.
//
// # Client and XClient
//
// Client is one connection to one server. It multiplexes any number of
// concurrent calls on that connection: callers encode their arguments and
// queue the request; the caller that finds no write in progress writes
// everything queued with a single write (there is no writer goroutine), and
// one reader goroutine matches responses to calls by message ID. An idle
// connection keeps only that reader goroutine and no read or write buffer
// (on TCP and Unix sockets). A Client never reconnects; once IsShutdown
// reports true make a new one.
//
//	c := client.NewClient(client.DefaultOption)
//	if err := c.Connect("tcp", "127.0.0.1:8972"); err != nil { ... }
//	defer c.Close()
//	var reply Reply
//	err := c.Call(ctx, "Arith", "Mul", &Args{A: 7, B: 8}, &reply)
//
// XClient (NewXClient) is what most programs use: it finds servers through a
// ServiceDiscovery, picks one per call with a selector, keeps one Client per
// server (redialling dead ones), retries according to its FailMode, and runs
// circuit breakers and plugins. OneClient is an XClient for several services.
//
// Invoke is the typed form of Call:
//
//	reply, err := client.Invoke[Args, Reply](ctx, c, "Arith", "Mul", &Args{A: 7, B: 8})
//
// # Options
//
// Option configures both. Start from DefaultOption and change a copy. The
// serialize type (default MsgPack) picks the codec of arguments from
// share.Codecs, copied when the client is made; the server answers with the
// same type. CompressType gzips request payloads. ConnectTimeout bounds
// dialing and the TLS handshake (TLSConfig turns TLS on for every stream
// transport). Heartbeat, HeartbeatInterval and MaxWaitForHeartbeat detect
// dead connections; IdleTimeout closes connections that receive nothing;
// WriteTimeout bounds each batched write; MaxMessageLength bounds the frames
// accepted (16 MiB by default). Networks are looked up in ConnFactories:
// tcp, tcp4, tcp6, unix and memu (in-process) are built in.
//
// # Errors
//
// An error returned by the remote handler is a ServiceError (IsServiceError
// reports it); between courier peers it keeps its code, so share.CodeOf
// works on it. ClientErrorFunc can build these errors instead. Local failures
// wrap sentinel errors: ErrShutdown when the connection is closed or dies
// (by Close, EOF, a reset, a failed write, a missed heartbeat, an idle
// timeout; the cause is wrapped too), ErrDraining when the server is
// shutting down, ErrUnsupportedCodec for an unknown serialize type. When the
// caller's ctx ends first, the call returns ctx.Err().
//
// # Metadata and deadlines
//
// Request metadata travels from a map[string]string stored in the ctx
// under share.ReqMetaDataKey (the client never modifies it). To receive the
// server's response metadata, store an empty map under share.ResMetaDataKey;
// the client copies the response metadata (and share.ServerAddress) into it
// after the call. Writes into that map are serialised, so many goroutines
// may share one ctx, but read the map only after your calls returned.
// A ctx deadline is sent to courier servers as the remaining time budget
// (share.DeadlineKey); the handler's ctx ends with it.
//
// # Graceful server shutdown
//
// A courier server that shuts down gracefully sends a drain notice on every
// connection. From then on the Client reports IsClosing() = true, fails new
// calls at once with ErrDraining without sending them, and lets calls
// already sent finish. XClient then uses other servers. Calls that reach a
// draining server anyway come back as errors wrapping ErrDraining (not
// service errors), which fail modes retry elsewhere.
//
// # Server notifications
//
// A server may push oneway messages on a client's connection. They are sent
// to the channel set with RegisterServerMessageChan (or the
// ServerMessageChan field), without blocking unless Option.BidirectionalBlock
// is set; dropped ones are counted by DroppedServerMessages. Without a
// channel they go to Option.NilCallServerMessageHandler. Messages pushed
// before a reply are delivered before that reply (ordering contract: a
// handler that calls SendMessage and then returns has its notification in
// the channel when Call returns). The client never closes the channel; the
// end of a connection's notifications is reported to
// Option.ServerMessageClosed, after the last notification of that
// connection was delivered. With BidirectionalBlock a slow consumer slows
// the connection down (back-pressure reaches the server's
// SendMessageContext); without it nothing blocks and every message is
// either delivered or counted.
//
// # Transports
//
// Besides tcp, unix and memu: "http" sends HTTP CONNECT to Option.RPCPath
// and then speaks the binary protocol; "ws" and "wss" carry it over
// WebSocket; "reuseport" dials plain TCP; "quic" (build
// tag quic) needs Option.TLSConfig and carries the connection on one QUIC
// stream; "kcp" (build tag kcp) needs a kcp.BlockCrypt in Option.Block
// and, having no keep-alive, Option.IdleTimeout or heartbeats to notice a
// dead server. Without the tags these networks fail with an error naming
// the tag to build with.
//
// # Retries, budgets, hedging and ejection
//
// Every attempt of an XClient call goes through the connection's own
// Client.Call (so per-Client plugins see each attempt) and is classified:
// ProvablyNotRun errors (no connection, request never written, breaker
// open, drain notice, share.CodeOverloaded) get one transparent retry on
// another server in every fail mode; errors that may have run are retried
// only by Failover, Failtry, Failbackup and Fork, and never for methods
// declared non-idempotent (Option.NonIdempotent, or the server's
// share.NonIdempotentMetaKey metadata). Extra attempts draw from a
// RetryBudget (20 % of calls plus 10/s by default); Option.Backoff spaces
// retries without sleeping past the deadline; Failbackup hedges up to
// Option.Hedges times. Outlier ejection (OutlierConfig) works under every
// selector, and P2CPeakEWMA balances on latency and load. XClient.Stats
// counts each decision.
package client
