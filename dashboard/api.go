package dashboard

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/courier-rpc/courier/internal/registryadmin"
)

//go:embed assets
var assets embed.FS

// maxBody caps the JSON bodies the API reads.
const maxBody = 1 << 20

// tokenHeader carries Config.Token on writes.
const tokenHeader = "X-Courier-Token"

func (d *dashboard) handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("/", http.FileServerFS(static))
	mux.HandleFunc("GET /api/state", d.handleState)
	mux.HandleFunc("GET /api/traffic", d.handleTraffic)
	mux.HandleFunc("GET /api/describe", d.handleDescribe)
	mux.HandleFunc("POST /api/update", d.guard(d.handleUpdate))
	mux.HandleFunc("POST /api/call", d.guard(d.handleCall))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "no such API: "+r.Method+" "+r.URL.Path)
	})
	return securityHeaders(mux)
}

// securityHeaders forbids framing and loading anything from elsewhere.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// apiError is the body of every failed API request.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

// guard checks what every write needs: a JSON body (a cross-site form
// cannot send one without a preflight), a same-origin Origin when the
// browser sends one, and the token when one is configured.
func (d *dashboard) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "", "the body must be application/json")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				writeError(w, http.StatusForbidden, "", "cross-origin writes are refused")
				return
			}
		}
		if d.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(tokenHeader)), []byte(d.cfg.Token)) != 1 {
			writeError(w, http.StatusUnauthorized, "token", "a valid token is required for writes (header "+tokenHeader+")")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r)
	}
}

// decode reads a JSON body into v, refusing unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "", "bad request body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "", "bad request body: extra data after the JSON object")
		return false
	}
	return true
}

func (d *dashboard) handleState(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.state())
}

func (d *dashboard) handleTraffic(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("server")
	if key == "" {
		writeError(w, http.StatusBadRequest, "server", "the server parameter is required")
		return
	}
	sum, methods, ok := d.traffic.detail(key)
	if !ok {
		writeError(w, http.StatusNotFound, "server", "unknown server "+key)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": key, "status": sum.Status, "reason": sum.Reason,
		"url": sum.URL, "total": sum.Total, "methods": methods})
}

func (d *dashboard) handleDescribe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key, service := q.Get("server"), q.Get("service")
	if key == "" || service == "" {
		writeError(w, http.StatusBadRequest, "", "the server and service parameters are required")
		return
	}
	if _, ok := d.server(service, key); !ok {
		writeError(w, http.StatusNotFound, "server", "server "+key+" does not serve "+service)
		return
	}
	desc, err := d.calls.describe(r.Context(), key, service)
	if err != nil {
		writeError(w, http.StatusBadGateway, "", "describe "+service+" on "+key+": "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(desc)
}

// updateRequest is the body of POST /api/update.
type updateRequest struct {
	Service string               `json:"service"`
	Server  string               `json:"server"`
	Change  registryadmin.Change `json:"change"`
	Confirm bool                 `json:"confirm"`
}

func (d *dashboard) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var req updateRequest
	if !decode(w, r, &req) {
		return
	}
	if !req.Confirm {
		writeError(w, http.StatusBadRequest, "confirm", "every write must be confirmed (\"confirm\": true)")
		return
	}
	if err := req.Change.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "change", err.Error())
		return
	}
	d.mu.RLock()
	a := d.admin
	d.mu.RUnlock()
	if a == nil {
		msg := "no registry: metadata can be edited only with a registry"
		if d.cfg.Registry != "" {
			msg = "registry unavailable: " + d.state().Error
		}
		writeError(w, http.StatusServiceUnavailable, "", msg)
		return
	}
	md, err := a.Update(r.Context(), req.Service, req.Server, req.Change)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"metadata": md})
	case errors.Is(err, registryadmin.ErrNotFound):
		writeError(w, http.StatusNotFound, "server", err.Error())
	case errors.Is(err, registryadmin.ErrBadMetadata):
		writeError(w, http.StatusBadRequest, "change", err.Error())
	case errors.Is(err, registryadmin.ErrConflict):
		writeError(w, http.StatusConflict, "", err.Error())
	default:
		writeError(w, http.StatusServiceUnavailable, "", err.Error())
	}
}

func (d *dashboard) handleCall(w http.ResponseWriter, r *http.Request) {
	var req callRequest
	if !decode(w, r, &req) {
		return
	}
	for field, v := range map[string]string{"service": req.Service, "method": req.Method, "server": req.Server} {
		if strings.TrimSpace(v) == "" {
			writeError(w, http.StatusBadRequest, field, field+" is required")
			return
		}
	}
	if _, ok := d.server(req.Service, req.Server); !ok {
		writeError(w, http.StatusNotFound, "server", "server "+req.Server+" does not serve "+req.Service)
		return
	}
	res, err := d.calls.call(r.Context(), req)
	var fe *fieldError
	if errors.As(err, &fe) {
		writeError(w, http.StatusBadRequest, fe.Field, fe.Msg)
		return
	} else if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}
