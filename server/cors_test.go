package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

func TestCORS(t *testing.T) {
	s := NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	restricted := &CORSOptions{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.org"},
		AllowedMethods:   []string{http.MethodPost},
		AllowedHeaders:   []string{"Content-Type", "X-RPCX-ServicePath", "X-RPCX-ServiceMethod", "X-RPCX-SerializeType"},
		ExposedHeaders:   []string{"x-rpcx-meta"},
		AllowCredentials: true,
		MaxAge:           600,
	}
	preflight := func(origin, method, headers string) *http.Request {
		r := httptest.NewRequest(http.MethodOptions, "/", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		return r
	}
	invoke := func(origin string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"A":2,"B":3}`))
		r.Header.Set(protocol.HeaderSerializeType, "1")
		r.Header.Set(protocol.HeaderServicePath, "Arith")
		r.Header.Set(protocol.HeaderServiceMethod, "Mul")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	tests := []struct {
		name   string
		opts   *CORSOptions
		req    *http.Request
		status int
		want   map[string]string // "" means absent
		body   string
	}{
		{"no cors: preflight is not rpc", nil, preflight("https://a.com", "POST", ""), 404, map[string]string{"Access-Control-Allow-Origin": ""}, ""},
		{"allow all preflight", AllowAllCORSOptions(), preflight("https://a.com", "PUT", "X-RPCX-ServicePath, x-custom"), 204,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Headers": "X-RPCX-ServicePath, x-custom"}, ""},
		{"allow all simple", AllowAllCORSOptions(), invoke("https://a.com"), 200, map[string]string{"Access-Control-Allow-Origin": "*"}, `{"C":6}`},
		{"allowed origin preflight", restricted, preflight("https://app.example.com", "POST", "content-type"), 204,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "600"}, ""},
		{"wildcard origin", restricted, preflight("https://eu.example.org", "POST", ""), 204, map[string]string{"Access-Control-Allow-Origin": "https://eu.example.org"}, ""},
		{"origin refused", restricted, preflight("https://evil.com", "POST", ""), 204, map[string]string{"Access-Control-Allow-Origin": ""}, ""},
		{"method refused", restricted, preflight("https://app.example.com", "DELETE", ""), 204, map[string]string{"Access-Control-Allow-Methods": ""}, ""},
		{"header refused", restricted, preflight("https://app.example.com", "POST", "X-Other"), 204, map[string]string{"Access-Control-Allow-Origin": ""}, ""},
		{"simple with expose", restricted, invoke("https://app.example.com"), 200,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Expose-Headers": "X-Rpcx-Meta", "Vary": "Origin"}, `{"C":6}`},
		{"simple from refused origin still served", restricted, invoke("https://evil.com"), 200, map[string]string{"Access-Control-Allow-Origin": ""}, `{"C":6}`},
		{"origin func", &CORSOptions{AllowOriginFunc: func(o string) bool { return strings.HasSuffix(o, ".test") }}, invoke("http://x.test"), 200,
			map[string]string{"Access-Control-Allow-Origin": "http://x.test"}, `{"C":6}`},
		{"passthrough", &CORSOptions{OptionsPassthrough: true}, preflight("https://a.com", "POST", ""), 404, map[string]string{"Access-Control-Allow-Origin": "*"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetCORS(tt.opts)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, tt.req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			for k, v := range tt.want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body, tt.body)
			}
		})
	}
}
