package server

import (
	"crypto/tls"
	"time"
)

// OptionFn configures a Server in NewServer.
type OptionFn func(*Server)

// Defaults of the server's settings.
const (
	// DefaultTCPKeepAlivePeriod is the TCP keep-alive period of accepted
	// connections (rpcx default).
	DefaultTCPKeepAlivePeriod = 3 * time.Minute
	// DefaultFrameTimeout bounds the arrival of one frame once its first
	// byte has arrived.
	DefaultFrameTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds each write of a batch of responses.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxConnRequests is how many requests of one connection may be
	// in flight (handled or waiting to be written) before the server stops
	// reading from it.
	DefaultMaxConnRequests = 4096
	// DefaultMaxNotifyQueue is how many notifications may wait to be
	// written on one connection before SendMessage fails.
	DefaultMaxNotifyQueue = 1024
)

// WithTLSConfig serves TLS on every stream transport Serve creates (tcp,
// tcp4, tcp6, unix, memu). Default: no TLS.
func WithTLSConfig(cfg *tls.Config) OptionFn {
	return func(s *Server) { s.tlsConfig = cfg }
}

// WithReadTimeout closes a connection on which no frame starts for
// readTimeout (an idle limit between frames). Default 0: no idle limit.
func WithReadTimeout(readTimeout time.Duration) OptionFn {
	return func(s *Server) { s.readTimeout = readTimeout }
}

// WithWriteTimeout bounds each write of a batch of responses; a connection
// whose peer does not read for that long is closed. A write gets at least
// writeTimeout and at most a quarter more (the deadline is moved only
// when less than writeTimeout is left, not at every write). Default
// DefaultWriteTimeout (30s); 0 means no deadline.
func WithWriteTimeout(writeTimeout time.Duration) OptionFn {
	return func(s *Server) { s.writeTimeout = writeTimeout }
}

// WithTCPKeepAlivePeriod sets the TCP keep-alive period of connections
// accepted by tcp listeners Serve creates. Default 3 minutes; a negative
// value turns keep-alive off.
func WithTCPKeepAlivePeriod(period time.Duration) OptionFn {
	return func(s *Server) { s.keepAlive = period }
}

// WithPool runs handlers on a bounded pool of at most maxWorkers
// goroutines with a queue of maxCapacity tasks; when the queue is full the
// connection's reader waits. Default: an unbounded pool of long-lived
// workers that park when idle and exit after an idle period.
func WithPool(maxWorkers, maxCapacity int, options ...PoolOption) OptionFn {
	return func(s *Server) {
		s.pool = NewWorkerPool(maxWorkers, maxCapacity, options...)
		s.ownPool = true
	}
}

// WithCustomPool runs handlers on pool. The server calls pool.Submit per
// request and pool.StopAndWaitFor (Shutdown) or pool.Stop (Close) when it
// stops.
func WithCustomPool(pool WorkerPool) OptionFn {
	return func(s *Server) {
		s.pool = pool
		s.ownPool = true
	}
}

// WithAsyncWrite sets AsyncWrite, which changes nothing: courier decides
// per reply whether its handler writes it or a flush does (conn_write.go).
// It is kept for source compatibility.
func WithAsyncWrite() OptionFn {
	return func(s *Server) { s.AsyncWrite = true }
}

// WithMaxMessageLength caps the length of a frame (after its 16-byte
// header); a longer frame is refused before its body is read and the
// connection is closed. Default protocol.DefaultMaxMessageLength (16 MiB);
// protocol.NoLimit turns the check off. Gzip payloads inflate up to the
// same limit.
func WithMaxMessageLength(n int) OptionFn {
	return func(s *Server) { s.limits.MaxMessageLength = n }
}

// WithMaxMetadataEntries caps the number of metadata entries of a request.
// Default protocol.DefaultMaxMetadataEntries (1024).
func WithMaxMetadataEntries(n int) OptionFn {
	return func(s *Server) { s.limits.MaxMetadataEntries = n }
}

// WithMaxDecompressedSize caps the inflated size of a gzip payload.
// Default: the maximum message length.
func WithMaxDecompressedSize(n int) OptionFn {
	return func(s *Server) { s.limits.MaxDecompressedSize = n }
}

// WithMaxDeadline caps the deadline a client asks for (share.DeadlineKey or
// share.ServerTimeout): a handler never gets more than d. Default 0: no cap.
func WithMaxDeadline(d time.Duration) OptionFn {
	return func(s *Server) { s.maxDeadline = d }
}

// WithFrameTimeout requires that once the first byte of a frame arrives the
// whole frame arrives within d, else the connection is closed (it defeats
// clients that send one byte per second). It also bounds TLS handshakes.
// Default DefaultFrameTimeout (30s); 0 turns it off.
func WithFrameTimeout(d time.Duration) OptionFn {
	return func(s *Server) { s.frameTimeout = d }
}

// WithMaxConnRequests bounds the requests of one connection that are in
// flight (being handled or waiting to be written); past it the server stops
// reading from that connection until one completes. Default
// DefaultMaxConnRequests (4096).
func WithMaxConnRequests(n int) OptionFn {
	return func(s *Server) { s.maxConnRequests = n }
}

// WithMaxNotifyQueue bounds the notifications (SendMessage) waiting to be
// written on one connection. Default DefaultMaxNotifyQueue (1024).
func WithMaxNotifyQueue(n int) OptionFn {
	return func(s *Server) { s.maxNotifyQueue = n }
}
