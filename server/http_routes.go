package server

import (
	"net/http"
	"strings"
)

// Paths of the probes every server answers on its HTTP side (its own port,
// and ServeHTTP), unless a handler is mounted at the same path.
const (
	// HealthzPath answers 200 "ok" while the server is alive (not closed).
	HealthzPath = "/healthz"
	// ReadyzPath answers 200 "ready" when Ready reports true, else 503.
	ReadyzPath = "/readyz"
)

// httpRoutes maps paths to handlers; it is copied on write.
type httpRoutes map[string]http.Handler

// HandleHTTP mounts h at path on the server's HTTP side: HTTP requests
// that arrive on the rpcx port (which sniffs HTTP) or through ServeHTTP,
// whose URL path is path, go to h instead of the HTTP invoke / JSON-RPC
// routing. A path ending in "/" also matches every path below it (the
// longest mounted prefix wins), as in http.ServeMux. A nil h removes the
// route. It is how /metrics (serverplugin/prometheus) and /debug/courier
// (serverplugin/debugpage) are served on the rpcx port; the probes
// HealthzPath and ReadyzPath are built in and may be replaced. Safe for
// concurrent use, also while serving. Errors: none (path must start with
// "/"; other paths are ignored).
func (s *Server) HandleHTTP(path string, h http.Handler) {
	if !strings.HasPrefix(path, "/") {
		return
	}
	s.routesMu.Lock()
	defer s.routesMu.Unlock()
	old := s.routes.Load()
	next := make(httpRoutes, len(*old)+1)
	for k, v := range *old {
		next[k] = v
	}
	if h == nil {
		delete(next, path)
	} else {
		next[path] = h
	}
	s.routes.Store(&next)
}

// WithHTTPHandler mounts h at path on the server's HTTP side (see
// HandleHTTP). Default: only the built-in probes.
func WithHTTPHandler(path string, h http.Handler) OptionFn {
	return func(s *Server) { s.HandleHTTP(path, h) }
}

// route returns the handler mounted for path, the built-in probe, or nil.
func (s *Server) route(path string) http.Handler {
	rs := s.routes.Load()
	if rs != nil {
		if h, ok := (*rs)[path]; ok {
			return h
		}
		best := ""
		var bh http.Handler
		for k, h := range *rs {
			if strings.HasSuffix(k, "/") && strings.HasPrefix(path, k) && len(k) > len(best) {
				best, bh = k, h
			}
		}
		if bh != nil {
			return bh
		}
	}
	switch path {
	case HealthzPath:
		return http.HandlerFunc(s.serveHealthz)
	case ReadyzPath:
		return http.HandlerFunc(s.serveReadyz)
	}
	return nil
}

// serveRoute serves r with a mounted handler or a probe; it reports false
// when none matches (and then writes nothing).
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request) bool {
	if hasRPCXHeader(r.Header) || r.Header.Get(JSONRPCHeader) != "" {
		return false // an rpc request, whatever its path
	}
	h := s.route(r.URL.Path)
	if h == nil {
		return false
	}
	h.ServeHTTP(w, r)
	return true
}

func (s *Server) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.state.Load() == stateClosed {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("closed\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
