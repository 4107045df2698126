package server

import (
	"context"
	stdlog "log"
	"net"
	"net/http"
	"sync"
)

// httpSide is the one net/http server that serves every HTTP/1 connection
// sniffed on a Server's listeners. It starts with the first such
// connection and stops (its Serve goroutine ends) when the Server closes;
// the connections themselves are closed as tracked connections.
type httpSide struct {
	once sync.Once
	ln   *chanListener
}

// connKey holds the *replayConn of a sniffed HTTP request in its context.
type connKey struct{}

// serve hands the sniffed connection hc to the shared net/http server,
// starting it if needed. It reports false when the Server is closing.
func (h *httpSide) serve(s *Server, hc *replayConn) bool {
	h.once.Do(func() {
		h.ln = &chanListener{ch: make(chan net.Conn), done: make(chan struct{}), addr: hc.LocalAddr()}
		srv := &http.Server{
			Handler:           http.HandlerFunc(s.serveSniffed),
			ReadHeaderTimeout: s.frameTimeout,
			IdleTimeout:       s.readTimeout,
			MaxHeaderBytes:    maxHTTPHeaderBytes,
			ErrorLog:          stdlog.New(debugWriter{}, "", 0),
			ConnState: func(nc net.Conn, st http.ConnState) {
				if rc, ok := nc.(*replayConn); ok && st == http.StateClosed {
					rc.c.httpDone()
				}
			},
			ConnContext: func(_ context.Context, nc net.Conn) context.Context {
				rc := nc.(*replayConn)
				// Without rc.c.ctx's cancellation: net/http derives its
				// connection context from this one and would otherwise hang
				// a child map and a Done channel on c.ctx for the connection's
				// life (about 0.4 KiB per idle keep-alive connection). Closing
				// c still cancels requests: net/http cancels when its read fails.
				return context.WithValue(context.WithValue(context.WithoutCancel(rc.c.ctx), HttpConnContextKey, rc.c.nc), connKey{}, rc)
			},
		}
		go func() { _ = srv.Serve(h.ln) }()
	})
	if h.ln == nil { // stopped before any HTTP connection came
		return false
	}
	select {
	case h.ln.ch <- hc:
		return true
	case <-h.ln.done:
		return false
	}
}

// stop ends the shared server's Serve goroutine. It is idempotent.
func (h *httpSide) stop() {
	h.once.Do(func() {}) // a server that never served HTTP starts nothing later
	if h.ln != nil {
		h.ln.Close()
	}
}

// serveSniffed is the handler of the shared server: CONNECT switches the
// connection to the rpcx protocol, a WebSocket upgrade to WebSocket, other
// requests go to serveHTTPRequest.
func (s *Server) serveSniffed(w http.ResponseWriter, r *http.Request) {
	rc, _ := r.Context().Value(connKey{}).(*replayConn)
	if rc == nil {
		http.Error(w, "server: no connection", http.StatusInternalServerError)
		return
	}
	c := rc.c
	switch {
	case r.Method == http.MethodConnect:
		s.connectSniffed(w, c, c.httpDone)
		return
	case isWSUpgrade(r):
		if s.serveWSUpgrade(w, r) {
			c.httpDone() // the connection was taken over and is done
		}
		return
	}
	s.serveHTTPRequest(w, r, rc)
}

// httpDone ends a sniffed HTTP connection once: closed, untracked, its
// connWG count released.
func (c *conn) httpDone() {
	c.httpOnce.Do(func() {
		c.close()
		c.s.untrackConn(c)
		c.s.connWG.Done()
	})
}

// chanListener is the listener of the shared server: Accept takes the
// connections handed over on ch until Close.
type chanListener struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	addr      net.Addr
}

// Accept returns the next handed-over connection, or net.ErrClosed after
// Close.
func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case nc := <-l.ch:
		return nc, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close makes Accept fail. It is idempotent.
func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr returns the local address of the first connection served.
func (l *chanListener) Addr() net.Addr { return l.addr }
