package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/courier-rpc/courier/log"
)

// connectedStatus is the status line rpcx answers an HTTP CONNECT with
// (followed by "\n\n"), after which both sides speak the rpcx protocol.
const connectedStatus = "HTTP/1.0 200 Connected to rpcx\n\n"

// serveHTTPConn serves HTTP/1 on a connection whose first bytes are an
// HTTP method (they are still buffered in c.br): it hands the connection to
// the Server's one net/http server (http_side.go) and returns at once. c
// is then detached: httpDone ends it when net/http closes it or a
// hijacking handler (CONNECT, WebSocket) is done. An idle keep-alive
// connection so costs one goroutine, net/http's, as in rpcx.
func (s *Server) serveHTTPConn(c *conn) {
	c.detached = true
	if !s.httpSide.serve(s, &replayConn{Conn: c.nc, c: c}) {
		c.httpDone()
	}
}

// maxHTTPHeaderBytes caps the request header of HTTP requests on the rpcx
// port (net/http's default).
const maxHTTPHeaderBytes = 1 << 20

// connectSniffed answers an HTTP CONNECT that arrived on the rpcx port and
// serves the rpcx protocol on the hijacked connection until it closes.
func (s *Server) connectSniffed(w http.ResponseWriter, c *conn, done func()) {
	_, rest, ok := hijackConnect(w)
	if !ok {
		return
	}
	defer done()
	if rest != nil {
		// The client sent frames right behind its CONNECT: read them first.
		var src io.Reader = c.nc // replayConn dropped the drained sniffing buffer
		if c.br != nil {
			src = c.br
		}
		c.br = bufio.NewReaderSize(io.MultiReader(rest, src), readBufferSize)
		c.brShared = true
	}
	_ = c.nc.SetDeadline(time.Time{})
	if _, err := io.WriteString(c.nc, connectedStatus); err != nil {
		c.close()
		return
	}
	s.serveRPCWait(c)
}

// hijackConnect takes over the connection of a CONNECT request. It
// returns the connection and the bytes net/http read past the request
// (nil: none); on failure it has answered the request itself.
func hijackConnect(w http.ResponseWriter) (nc net.Conn, rest io.Reader, ok bool) {
	hj, isHJ := w.(http.Hijacker)
	if !isHJ {
		http.Error(w, "server: connection cannot be hijacked", http.StatusInternalServerError)
		return nil, nil, false
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		http.Error(w, "server: hijack: "+err.Error(), http.StatusInternalServerError)
		return nil, nil, false
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		return nc, bytes.NewReader(append([]byte(nil), b...)), true
	}
	return nc, nil, true
}

// serveStream serves the rpcx protocol on a connection taken over from an
// HTTP server (CONNECT, WebSocket) after writing greeting: it is tracked
// like an accepted connection and closed when done. rest holds bytes read
// ahead (nil: none).
func (s *Server) serveStream(nc net.Conn, rest io.Reader, greeting string) {
	s.mu.Lock()
	if s.state.Load() != stateServing {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.connWG.Add(1)
	s.mu.Unlock()
	defer s.connWG.Done()
	s.stats.accepted.Add(1)
	nc, ok := s.postConnAccept(nc)
	if !ok {
		return
	}
	c := newConn(s, nc)
	if rest != nil {
		c.br = bufio.NewReaderSize(io.MultiReader(rest, nc), readBufferSize)
		c.brShared = true
	}
	if !s.trackConn(c) {
		c.close()
		s.stats.closed.Add(1)
		return
	}
	defer s.untrackConn(c)
	_ = nc.SetDeadline(time.Time{})
	if greeting != "" {
		if _, err := io.WriteString(nc, greeting); err != nil {
			c.close()
			return
		}
	}
	s.serveRPCWait(c)
}

// replayConn is a connection whose reads go through the buffered reader
// that sniffed its first bytes until it is drained, then straight to the
// connection (the drained buffer goes back to the pool, so an idle
// keep-alive connection holds none of its own). It is the net.Conn of HTTP
// requests served on the rpcx port (SendMessage does not know it: HTTP has
// no push). net/http reads it from one goroutine at a time, which owns c.br
// meanwhile.
type replayConn struct {
	net.Conn
	c *conn
}

// Read reads what the sniffing reader holds, then the connection.
func (rc *replayConn) Read(p []byte) (int, error) {
	c := rc.c
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p)
		}
		if !c.brShared {
			c.br.Reset(nil)
			readers.Put(c.br)
		}
		c.br = nil
	}
	return rc.Conn.Read(p)
}

// debugWriter sends net/http's own error log lines to the Debug level.
type debugWriter struct{}

func (debugWriter) Write(p []byte) (int, error) {
	log.Debugf("server: http: %s", trimNewline(p))
	return len(p), nil
}

func trimNewline(p []byte) string {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return string(p)
}
