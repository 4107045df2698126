package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Errors of HTTP invoke and JSON-RPC.
var (
	// ErrNotRPCRequest answers an HTTP request on the rpcx port that is
	// neither CONNECT, nor JSON-RPC (header X-JSONRPC-2.0: true) nor HTTP
	// invoke (X-RPCX-* headers), or whose kind is disabled.
	ErrNotRPCRequest = errors.New("server: not an rpc request: send CONNECT, X-RPCX-* headers or X-JSONRPC-2.0: true")
	// ErrHTTPConn is returned by reads and writes on the net.Conn that
	// handlers of requests made through a user's HTTP server see.
	ErrHTTPConn = errors.New("server: request came through http: no connection to use")
)

// JSONRPCHeader marks a JSON-RPC 2.0 request on the rpcx port (value
// "true"), as in rpcx.
const JSONRPCHeader = "X-JSONRPC-2.0"

// ServeHTTP is the http.Handler of the server's HTTP side, for programs that
// mount the server on their own HTTP server. A CONNECT request is hijacked
// and served with the rpcx protocol (what rpcx's ServeHTTP does); a GET
// with a WebSocket upgrade is served with the rpcx protocol over binary
// WebSocket frames (rpcx's ws network); a request with header
// X-JSONRPC-2.0: true is JSON-RPC 2.0; a request with X-RPCX-*
// headers is an HTTP invoke (one call: headers as in protocol.MessageFromHTTP,
// body the encoded argument; answered as rpcx answers: protocol.WriteHTTPResponse
// with X-RPCX-ServicePath and X-RPCX-ServiceMethod echoing the request, status
// 500 for a failed call and 401 for a failed authentication). Other
// requests, and kinds turned off with DisableJSONRPC or DisableHTTPGateway,
// get 404. CORS (SetCORS) applies to all but CONNECT. Safe for concurrent
// use.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		conn, rest, ok := hijackConnect(w)
		if !ok {
			return
		}
		s.serveStream(conn, rest, connectedStatus)
		return
	}
	if isWSUpgrade(r) {
		_ = s.serveWSUpgrade(w, r)
		return
	}
	s.serveHTTPRequest(w, r, &addrConn{remote: r.RemoteAddr})
}

// serveHTTPRequest routes one non-CONNECT HTTP request. nc is the
// connection handlers see under RemoteConnContextKey.
func (s *Server) serveHTTPRequest(w http.ResponseWriter, r *http.Request, nc net.Conn) {
	if p := s.cors.Load(); p != nil && p.handle(w, r) {
		return
	}
	if s.serveRoute(w, r) {
		return
	}
	switch {
	case strings.EqualFold(r.Header.Get(JSONRPCHeader), "true") && !s.DisableJSONRPC:
		s.serveJSONRPC(w, r, nc)
	case hasRPCXHeader(r.Header) && !s.DisableHTTPGateway:
		s.serveInvoke(w, r, nc)
	default:
		s.stats.protocol.Add(1)
		w.Header().Set("Connection", "close")
		protocol.WriteHTTPError(w, http.StatusNotFound, ErrNotRPCRequest)
	}
}

func hasRPCXHeader(h http.Header) bool {
	for k := range h {
		if n := len(protocol.HeaderPrefix); len(k) > n && strings.EqualFold(k[:n], protocol.HeaderPrefix) {
			return true
		}
	}
	return false
}

// HTTPRequest2RpcxRequest turns an HTTP invoke request into a request
// message (protocol.MessageFromHTTP with the default limits); a request
// without X-RPCX-ServicePath takes the service path from the URL path, as
// rpcx's gateway does. Errors wrap protocol.ErrBadHTTPRequest or
// protocol.ErrMessageTooLong.
func HTTPRequest2RpcxRequest(r *http.Request) (*protocol.Message, error) {
	return httpToMessage(r, protocol.DefaultLimits())
}

func httpToMessage(r *http.Request, lim protocol.Limits) (*protocol.Message, error) {
	if r.Header.Get(protocol.HeaderServicePath) == "" && r.Header.Get(protocol.HeaderHeartbeat) == "" {
		if p := strings.Trim(r.URL.Path, "/"); p != "" {
			r.Header.Set(protocol.HeaderServicePath, p)
		}
	}
	max := lim.MaxMessageLength
	if max <= 0 {
		max = math.MaxInt32
	}
	req, err := protocol.MessageFromHTTP(r, max)
	if err != nil {
		return nil, err
	}
	if lim.MaxMetadataEntries > 0 && len(req.Metadata) > lim.MaxMetadataEntries {
		return nil, fmt.Errorf("%w: %d metadata entries", protocol.ErrTooManyMetadata, len(req.Metadata))
	}
	if req.IsHeartbeat() {
		req.SetMessageType(protocol.Request)
	}
	return req, nil
}

// httpStatusOf maps an error of httpToMessage to an HTTP status code.
func httpStatusOf(err error) int {
	switch {
	case errors.Is(err, protocol.ErrMessageTooLong), errors.Is(err, protocol.ErrDecompressedTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, protocol.ErrTooManyMetadata):
		return http.StatusRequestHeaderFieldsTooLarge
	}
	return http.StatusBadRequest
}

// preReadHTTP runs the PreReadRequest plugins for an HTTP request. A
// plugin error other than ErrReqReachLimit refuses the request: it is
// answered 503 (the connection closed after it) and refused is true.
// ErrReqReachLimit is returned for the caller to answer in its protocol.
func (s *Server) preReadHTTP(ctx context.Context, w http.ResponseWriter) (limitErr error, refused bool) {
	limitErr = s.Plugins.DoPreReadRequest(ctx)
	if limitErr != nil && !errors.Is(limitErr, ErrReqReachLimit) {
		w.Header().Set("Connection", "close")
		protocol.WriteHTTPError(w, http.StatusServiceUnavailable, limitErr)
		return limitErr, true
	}
	return limitErr, false
}

// serveInvoke runs one HTTP invoke request through the server's request
// path and writes the answer.
func (s *Server) serveInvoke(w http.ResponseWriter, r *http.Request, nc net.Conn) {
	ctx := r.Context()
	limitErr, refused := s.preReadHTTP(ctx, w)
	if refused {
		return
	}
	clear := s.bodyDeadline(w)
	req, err := httpToMessage(r, s.limits)
	if err != nil {
		// Keep the read deadline and drop the connection: net/http would
		// otherwise wait for the rest of an unread body.
		w.Header().Set("Connection", "close")
		s.stats.protocol.Add(1)
		_ = s.Plugins.DoPostReadRequest(ctx, nil, err)
		protocol.WriteHTTPError(w, httpStatusOf(err), err)
		return
	}
	clear()
	// rpcx echoes the service path (also one taken from the URL) and
	// method on every answer.
	w.Header().Set(protocol.HeaderServicePath, req.ServicePath)
	w.Header().Set(protocol.HeaderServiceMethod, req.ServiceMethod)
	s.stats.requests.Add(1)
	if err := s.Plugins.DoPostHTTPRequest(ctx, r, Params{{Key: "servicePath", Value: req.ServicePath}}); err != nil {
		s.writeHTTPResult(w, s.errorResponse(req, err))
		return
	}
	if err := s.Plugins.DoPostReadRequest(ctx, req, nil); err != nil {
		s.writeHTTPResult(w, s.errorResponse(req, err))
		return
	}
	if limitErr != nil {
		s.writeHTTPResult(w, s.errorResponse(req, limitErr))
		return
	}
	if req.IsHeartbeat() {
		s.stats.heartbeats.Add(1)
		_ = s.Plugins.DoHeartbeatRequest(ctx, req)
		res := newResponse(req)
		res.SetHeartbeat(true)
		res.Payload = req.Payload
		s.writeHTTPResult(w, res)
		return
	}
	s.inflight.Add(1)
	if s.state.Load() != stateServing {
		s.inflight.Add(-1)
		w.Header().Set("Connection", "close")
		s.writeHTTPResult(w, s.errorResponse(req, ErrShuttingDown))
		return
	}
	if req.IsOneway() {
		// Answered at once; the handler runs on, bound to the server, not
		// to this request.
		w.WriteHeader(http.StatusOK)
		go func() {
			defer s.inflight.Add(-1)
			parent := context.WithoutCancel(ctx)
			bctx, cancel := context.WithCancel(parent)
			stop := context.AfterFunc(s.baseCtx, cancel)
			defer func() { stop(); cancel() }()
			_, _, _ = s.handleSync(bctx, nc, req)
		}()
		return
	}
	defer s.inflight.Add(-1)
	res, rc, herr := s.handleSync(ctx, nc, req)
	s.writeHTTPResult(w, res)
	_ = s.Plugins.DoPostWriteResponse(rc, req, res, herr)
}

// bodyDeadline bounds the reading of a request body by the frame timeout
// (a peer trickling its body is cut off); the returned func lifts the
// bound once the body is read.
func (s *Server) bodyDeadline(w http.ResponseWriter) func() {
	if s.frameTimeout <= 0 {
		return func() {}
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.frameTimeout)) != nil {
		return func() {}
	}
	return func() { _ = rc.SetReadDeadline(time.Time{}) }
}

// errorResponse returns the error response of req for err.
func (s *Server) errorResponse(req *protocol.Message, err error) *protocol.Message {
	res := newResponse(req)
	setError(res, err, s.ServerErrorFunc)
	s.stats.errors.Add(1)
	return res
}

// writeHTTPResult writes res (an X-RPCX-* answer) and flushes it, so the
// answer is on the wire before the request counts as done. An error
// response gets status 500, or 401 when authentication failed, as rpcx's
// HTTP invoke answers.
func (s *Server) writeHTTPResult(w http.ResponseWriter, res *protocol.Message) {
	code := http.StatusOK
	if res.MessageStatusType() == protocol.Error {
		code = http.StatusInternalServerError
		if res.Metadata[share.ErrorCodeKey] == strconv.Itoa(int(share.CodeUnauthenticated)) {
			code = http.StatusUnauthorized
		}
	}
	protocol.WriteHTTPResponseCode(w, res, code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// handleSync runs req through the server's request path (auth,
// PreHandleRequest, deadline from metadata, handler or AddHandler route,
// PreWriteResponse) on the calling goroutine and returns the response
// (also for oneway requests), its ctx and the handler error.
func (s *Server) handleSync(parent context.Context, nc net.Conn, req *protocol.Message) (*protocol.Message, *reqCtx, error) {
	now := time.Now()
	rc := &reqCtx{src: &reqSource{ctx: parent, s: s, nc: nc}, reqMeta: req.Metadata, start: now.UnixNano(), callPlugins: s.callPlugins()}
	if d, ok := s.requestTimeout(req.Metadata); ok {
		rc.setDeadline(now.Add(d))
		defer rc.endDeadline()
	}
	obs := s.observers()
	if obs != nil {
		rc.src.ctx = startCall(obs, rc.src.ctx, nc, req) // rc.src is this call's own
	}
	var res *protocol.Message
	payload, h, err := s.call(rc, req, nil)
	if h != nil {
		res, err = s.runHandlerSync(rc, nc, req, h)
	} else {
		res = newResponse(req)
		res.Payload = payload
		mergeMeta(res, rc.takeResMeta())
		if err != nil {
			setError(res, err, s.ServerErrorFunc)
		}
	}
	if err != nil {
		s.stats.errors.Add(1)
		if s.HandleServiceError != nil {
			s.HandleServiceError(err)
		}
	}
	if obs != nil {
		if req.IsOneway() {
			endCall(obs, rc, req, nil, err)
		} else {
			endCall(obs, rc, req, res, err)
		}
	}
	rc.setSendAt(nowNano())
	_ = s.Plugins.DoPreWriteResponse(rc, req, res, err)
	return res, rc, err
}

// runHandlerSync runs an AddHandler route and returns what it wrote (or
// its error, or an empty reply).
func (s *Server) runHandlerSync(rc *reqCtx, nc net.Conn, req *protocol.Message, h Handler) (*protocol.Message, error) {
	cc := &captureConn{Conn: nc}
	hc := &Context{conn: cc, req: req, ctx: share.NewContext(rc), async: s.AsyncWrite, s: s}
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = s.recovered(r, req)
			}
		}()
		return h(hc)
	}()
	if len(cc.buf) > 0 {
		res := protocol.NewMessage()
		lim := s.limits
		if derr := res.DecodeLimited(bytes.NewReader(cc.buf), &lim); derr == nil {
			return res, err
		}
	}
	res := newResponse(req)
	mergeMeta(res, rc.takeResMeta())
	if err != nil {
		setError(res, err, s.ServerErrorFunc)
	}
	return res, err
}

// captureConn records what a Handler writes for an HTTP request.
type captureConn struct {
	net.Conn
	buf []byte
}

// Write records p (only the first response counts).
func (c *captureConn) Write(p []byte) (int, error) {
	if len(c.buf) == 0 {
		c.buf = append(c.buf, p...)
	}
	return len(p), nil
}

// addrConn is the net.Conn of requests served through a user's HTTP
// server: it knows the peer's address and nothing else.
type addrConn struct {
	remote string
}

func (c *addrConn) Read([]byte) (int, error)         { return 0, ErrHTTPConn }
func (c *addrConn) Write([]byte) (int, error)        { return 0, ErrHTTPConn }
func (c *addrConn) Close() error                     { return nil }
func (c *addrConn) LocalAddr() net.Addr              { return httpAddr("") }
func (c *addrConn) RemoteAddr() net.Addr             { return httpAddr(c.remote) }
func (c *addrConn) SetDeadline(time.Time) error      { return nil }
func (c *addrConn) SetReadDeadline(time.Time) error  { return nil }
func (c *addrConn) SetWriteDeadline(time.Time) error { return nil }

// httpAddr is the address of an HTTP peer as net/http reports it.
type httpAddr string

func (a httpAddr) Network() string { return "tcp" }
func (a httpAddr) String() string  { return string(a) }
