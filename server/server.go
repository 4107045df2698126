package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/internal/cacheline"
	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Server states.
const (
	stateServing int32 = iota
	stateDraining
	stateClosed
)

// Server serves registered services over rpcx protocol connections. Set
// its exported fields before calling Serve; its methods are safe for
// concurrent use.
type Server struct {
	// DisableHTTPGateway turns off HTTP invoke on the rpcx port (used once
	// the HTTP gateway is served; default false).
	DisableHTTPGateway bool
	// DisableJSONRPC turns off JSON-RPC 2.0 on the rpcx port (default false).
	DisableJSONRPC bool
	// AsyncWrite is kept for rpcx compatibility and changes nothing:
	// replies are written by the handler that completes its connection's
	// requests in flight, or by one flush for a burst (conn_write.go).
	AsyncWrite bool
	// Plugins holds the server's plugins. NewServer sets an empty
	// container; add plugins before Serve.
	Plugins PluginContainer
	// AuthFunc, when set, checks the token (metadata share.AuthKey) of
	// every request but heartbeats; an error is the request's error
	// response (code CodeUnauthenticated unless it has one) and the
	// connection stays usable.
	AuthFunc func(ctx context.Context, req *protocol.Message, token string) error
	// HandleServiceError, when set, is called with every error a handler
	// returns.
	HandleServiceError func(error)
	// ServerErrorFunc, when set, makes the error text of an error response
	// (default err.Error()).
	ServerErrorFunc func(res *protocol.Message, err error) string
	// Started is closed when the first listener starts accepting.
	Started chan struct{}

	readTimeout     time.Duration
	writeTimeout    time.Duration
	frameTimeout    time.Duration
	keepAlive       time.Duration
	maxDeadline     time.Duration
	maxConnRequests int
	inlineGrace     time.Duration // 0: no inline handlers
	trace           bool          // share.Trace at NewServer
	noValueReuse    bool          // see WithValueReuse
	watchdog        watchdog      // of inline handlers
	sweeper         sweeper       // of idle readers
	maxNotifyQueue  int
	tlsConfig       *tls.Config
	blockCrypt      any // kcp.BlockCrypt of the kcp network (WithBlockCrypt, tag kcp)
	limits          protocol.Limits
	codecs          *share.CodecTable

	pool    WorkerPool // custom or WithPool; nil: workers
	ownPool bool
	workers *pool[job]
	regMu   sync.Mutex
	reg     atomic.Pointer[registry]
	state   atomic.Int32
	seq     atomic.Uint64

	baseCtx    context.Context
	cancelBase context.CancelFunc

	mu          sync.Mutex
	listeners   map[net.Listener]struct{}
	ln          net.Listener
	conns       map[net.Conn]*conn
	connWG      sync.WaitGroup
	startedOnce sync.Once
	onShutdown  []func(*Server)
	onRestart   []func(*Server)
	hooksOnce   sync.Once
	doneCh      chan struct{} // closed when Shutdown/Close completed

	// Counters every request writes, from every reader, padded onto cache
	// lines of their own: sharing a line with the fields every request
	// reads (registry, state, plugins, options), each write would evict
	// those from the other cores' caches.
	_        cacheline.Pad
	inflight atomic.Int64
	stats    serverStats
	_        cacheline.Pad

	adm  *admission                 // concurrency gate; nil: none (admission.go)
	cors atomic.Pointer[corsPolicy] // SetCORS; nil: no CORS handling

	httpSide httpSide // the net/http server of sniffed HTTP connections

	routesMu      sync.Mutex
	routes        atomic.Pointer[httpRoutes] // HandleHTTP; copied on write
	ready         readiness
	shutdownDelay time.Duration // WithShutdownDelay
	withdrawOnce  sync.Once
	withdrawn     chan struct{} // closed when withdraw's work is done
}

// job is one request for the default worker pool.
type job struct {
	c     *conn
	req   *protocol.Message
	gate  *methodGate // the method's admission limit the request holds; nil: none
	m     *method     // the method the reader looked up for req's route (inline runs); nil: look it up
	at    time.Time   // when req was read (conn.readAt); zero: take the time when it starts
	flush bool        // flush c's write queue (req is nil)
}

// NewServer returns a server configured by options. The codec table
// (share.Codecs) and share.Trace are copied here.
func NewServer(options ...OptionFn) *Server {
	s := &Server{
		Plugins:         NewPluginContainer(),
		Started:         make(chan struct{}),
		writeTimeout:    DefaultWriteTimeout,
		frameTimeout:    DefaultFrameTimeout,
		keepAlive:       DefaultTCPKeepAlivePeriod,
		maxConnRequests: DefaultMaxConnRequests,
		inlineGrace:     DefaultInlineGrace,
		maxNotifyQueue:  DefaultMaxNotifyQueue,
		codecs:          share.NewCodecTable(),
		trace:           share.Trace,
		listeners:       make(map[net.Listener]struct{}),
		conns:           make(map[net.Conn]*conn),
		doneCh:          make(chan struct{}),
		withdrawn:       make(chan struct{}),
	}
	s.routes.Store(&httpRoutes{})
	for _, o := range options {
		o(s)
	}
	s.limits = s.limits.Resolve()
	if s.maxConnRequests <= 0 {
		s.maxConnRequests = DefaultMaxConnRequests
	}
	if s.maxNotifyQueue <= 0 {
		s.maxNotifyQueue = DefaultMaxNotifyQueue
	}
	if s.pool == nil {
		s.workers = newPool(0, s.runJob)
	}
	s.watchdog.s = s
	s.sweeper.s = s
	s.sweeper.smallStart.Store(true)
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	return s
}

// Stats counts what a server did. Connections are counted here instead of
// being logged.
type Stats struct {
	// ConnsAccepted counts accepted connections.
	ConnsAccepted uint64
	// ConnsClosed counts connections that were closed (refused ones too).
	ConnsClosed uint64
	// Requests counts decoded frames (calls, oneway calls and heartbeats).
	Requests uint64
	// Heartbeats counts heartbeat requests.
	Heartbeats uint64
	// ErrorResponses counts responses sent with status Error.
	ErrorResponses uint64
	// Panics counts handlers that panicked.
	Panics uint64
	// ProtocolErrors counts connections closed or requests refused for bad
	// frames.
	ProtocolErrors uint64
	// Notifications counts messages queued by SendMessage.
	Notifications uint64
	// ReaderTakeovers counts handlers run on their connection's reader
	// that outlived the inline grace period, so that another goroutine
	// took over reading (see WithInlineGrace).
	ReaderTakeovers uint64
	// Shed counts requests refused with ErrOverloaded (over the
	// concurrency limit, or queued longer than WithQueueTimeout).
	Shed uint64
	// Expired counts queued requests dropped without running because
	// their deadline passed while they waited.
	Expired uint64
	// InFlightLimit is the concurrency limit of the moment (0: none).
	InFlightLimit int
}

type serverStats struct {
	accepted, closed, requests, heartbeats, errors, panics, protocol, notifications, takeovers atomic.Uint64
	shed, expired                                                                              atomic.Uint64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		ConnsAccepted:   s.stats.accepted.Load(),
		ConnsClosed:     s.stats.closed.Load(),
		Requests:        s.stats.requests.Load(),
		Heartbeats:      s.stats.heartbeats.Load(),
		ErrorResponses:  s.stats.errors.Load(),
		Panics:          s.stats.panics.Load(),
		ProtocolErrors:  s.stats.protocol.Load(),
		Notifications:   s.stats.notifications.Load(),
		ReaderTakeovers: s.stats.takeovers.Load(),
		Shed:            s.stats.shed.Load(),
		Expired:         s.stats.expired.Load(),
		InFlightLimit:   s.inFlightLimit(),
	}
}

func (s *Server) inFlightLimit() int {
	if s.adm == nil {
		return 0
	}
	return s.adm.limit()
}

// Serve listens on network and address and serves connections until Close
// or Shutdown, then returns ErrServerClosed. Networks: tcp, tcp4, tcp6,
// unix, memu, and those added with RegisterMakeListener.
func (s *Server) Serve(network, address string) (err error) {
	if s.state.Load() != stateServing {
		return ErrServerClosed
	}
	ln, err := s.makeListener(network, address)
	if err != nil {
		return err
	}
	return s.ServeListener(network, ln)
}

// ServeListener serves connections accepted from ln until Close or
// Shutdown (then it returns ErrServerClosed) or until ln fails.
func (s *Server) ServeListener(network string, ln net.Listener) (err error) {
	s.mu.Lock()
	if s.state.Load() != stateServing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.ln = ln
	s.mu.Unlock()
	s.startedOnce.Do(func() {
		close(s.Started)
		s.NotifyReadiness()
	})
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.state.Load() != stateServing {
				return ErrServerClosed
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				log.Errorf("server: accept on %s: %v; retrying in %v", network, err, delay)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-s.doneCh:
					t.Stop()
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		delay = 0
		s.mu.Lock()
		if s.state.Load() != stateServing {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.connWG.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

// Address returns the address of the listener that started last, or nil.
func (s *Server) Address() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// ActiveClientConn returns the connections being served.
func (s *Server) ActiveClientConn() []net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Conn, 0, len(s.conns))
	for nc := range s.conns {
		out = append(out, nc)
	}
	return out
}

// serveConn runs one accepted connection: TLS handshake, plugins, protocol
// sniffing, then the protocol's handler.
func (s *Server) serveConn(nc net.Conn) {
	var c *conn
	defer func() {
		if c == nil || !c.detached { // a detached connection says when it is done
			s.connWG.Done()
		}
	}()
	s.stats.accepted.Add(1)
	if tc, ok := nc.(*tls.Conn); ok {
		ctx, cancel := s.baseCtx, context.CancelFunc(func() {})
		if s.frameTimeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, s.frameTimeout)
		}
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			log.Debugf("server: tls handshake with %s: %v", nc.RemoteAddr(), err)
			nc.Close()
			s.stats.closed.Add(1)
			return
		}
	}
	nc, ok := s.postConnAccept(nc)
	if !ok {
		return
	}
	c = newConn(s, nc)
	if !s.trackConn(c) {
		c.close()
		s.stats.closed.Add(1)
		return
	}
	defer func() {
		if !c.detached {
			s.untrackConn(c)
		}
	}()

	if s.readTimeout > 0 {
		_ = nc.SetReadDeadline(time.Now().Add(s.readTimeout))
	}
	first, err := c.br.Peek(1)
	if err != nil {
		c.close()
		return
	}
	h := s.chooseHandler(c, first[0])
	if h == nil {
		log.Debugf("server: closing %s: its first bytes are neither rpcx nor an HTTP request line", nc.RemoteAddr())
		s.stats.protocol.Add(1)
		c.close()
		return
	}
	h(c)
}

// connHandler serves a connection whose first bytes have been peeked (they
// are still in c.br). It must close the connection before returning.
type connHandler func(c *conn)

// chooseHandler picks the protocol of a connection by its first bytes: the
// rpcx magic number selects the rpcx protocol; the start of an HTTP request
// line (see sniffHTTP) selects HTTP/1 (CONNECT switches to the rpcx
// protocol, X-JSONRPC-2.0 requests are JSON-RPC 2.0, X-RPCX-* requests are
// HTTP invoke, other routes as ServeHTTP says). Anything else gets nil: the
// connection is closed without an answer, as rpcx's listener does.
func (s *Server) chooseHandler(c *conn, first byte) connHandler {
	if first == protocol.MagicNumber() {
		return s.serveRPC
	}
	if s.sniffHTTP(c) {
		return s.serveHTTPConn
	}
	return nil
}

// maxMethodLen bounds the method token sniffHTTP accepts (the longest
// registered HTTP methods are far shorter).
const maxMethodLen = 24

// sniffHTTP reports whether the connection's first bytes are an HTTP
// request line's method token (upper-case letters) and the space after
// it. It peeks only as many bytes as it needs, within the frame timeout.
func (s *Server) sniffHTTP(c *conn) bool {
	if s.frameTimeout > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(s.frameTimeout))
		defer func() {
			if s.readTimeout > 0 {
				_ = c.nc.SetReadDeadline(time.Now().Add(s.readTimeout))
			} else {
				_ = c.nc.SetReadDeadline(time.Time{})
			}
		}()
	}
	for n := 1; n <= maxMethodLen+1; n++ {
		b, err := c.br.Peek(n)
		if err != nil {
			return false
		}
		switch ch := b[n-1]; {
		case ch == ' ' && n > 1:
			return true
		case ch < 'A' || ch > 'Z':
			return false
		}
	}
	return false
}

func (s *Server) trackConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load() != stateServing {
		return false
	}
	s.conns[c.nc] = c
	return true
}

func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c.nc)
	s.mu.Unlock()
	s.Plugins.DoPostConnClose(c.nc)
	s.stats.closed.Add(1)
}

func (s *Server) findConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[nc]
}

// newReader returns the buffered reader of a connection, from the pool of
// read buffers (conn_idle.go) that idle connections give theirs back to.
func newReader(nc net.Conn) *bufio.Reader {
	br := readers.Get().(*bufio.Reader) // see conn_idle.go
	br.Reset(nc)
	return br
}

// RegisterOnShutdown adds f to the functions run once when the server is
// shut down or closed.
func (s *Server) RegisterOnShutdown(f func(s *Server)) {
	s.mu.Lock()
	s.onShutdown = append(s.onShutdown, f)
	s.mu.Unlock()
}

// RegisterOnRestart adds f to the functions run before a restart. courier
// does not restart processes itself (no Restart), so they run only when a
// program calls RunOnRestart.
func (s *Server) RegisterOnRestart(f func(s *Server)) {
	s.mu.Lock()
	s.onRestart = append(s.onRestart, f)
	s.mu.Unlock()
}

// RunOnRestart runs the functions added with RegisterOnRestart, in order.
func (s *Server) RunOnRestart() {
	s.mu.Lock()
	fs := append(make([]func(*Server), 0, len(s.onRestart)), s.onRestart...)
	s.mu.Unlock()
	for _, f := range fs {
		f(s)
	}
}

// nowNano returns the current time in Unix nanoseconds.
func nowNano() int64 { return time.Now().UnixNano() }

// postConnAccept runs the PostConnAccept plugins on a new connection; a
// connection they refuse is closed and counted, and ok is false.
func (s *Server) postConnAccept(nc net.Conn) (_ net.Conn, ok bool) {
	nc, ok = s.Plugins.DoPostConnAccept(nc)
	if !ok {
		log.Debugf("server: %v: %s", ErrNotAccept, nc.RemoteAddr())
		nc.Close()
		s.stats.closed.Add(1)
	}
	return nc, ok
}
