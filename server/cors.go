package server

import (
	"fmt"
	"net/http"

	"github.com/rs/cors"

	"github.com/courier-rpc/courier/log"
)

// CORSOptions configures cross-origin resource sharing for the server's
// HTTP side (HTTP invoke and JSON-RPC). Its fields have the names and
// meaning of github.com/rs/cors's Options, which rpcx uses and which does
// the checks here too.
type CORSOptions struct {
	// AllowedOrigins lists the origins a cross-domain request may come
	// from. "*" allows all; an entry may hold one "*" wildcard
	// ("https://*.example.com"). Default (empty): all origins.
	AllowedOrigins []string
	// AllowOriginFunc, when set, decides instead of AllowedOrigins.
	AllowOriginFunc func(origin string) bool
	// AllowOriginRequestFunc, when set, decides (with the request) instead
	// of AllowedOrigins and AllowOriginFunc.
	AllowOriginRequestFunc func(r *http.Request, origin string) bool
	// AllowedMethods lists the methods a cross-domain request may use.
	// Default (empty): GET, POST and HEAD.
	AllowedMethods []string
	// AllowedHeaders lists the non-simple headers a request may carry; "*"
	// allows all. Origin is always allowed. Default (empty): Accept,
	// Content-Type and X-Requested-With.
	AllowedHeaders []string
	// ExposedHeaders lists the response headers a browser may show the
	// caller (Access-Control-Expose-Headers). Default: none.
	ExposedHeaders []string
	// MaxAge is how many seconds a preflight answer may be cached
	// (Access-Control-Max-Age). Default 0: not sent.
	MaxAge int
	// AllowCredentials lets requests carry cookies, HTTP auth or client
	// certificates. Default false.
	AllowCredentials bool
	// AllowPrivateNetwork answers Access-Control-Request-Private-Network
	// preflights. Default false.
	AllowPrivateNetwork bool
	// OptionsPassthrough passes preflight requests on to the rpc handler
	// instead of answering them. Default false.
	OptionsPassthrough bool
	// OptionsSuccessStatus is the status of preflight answers. Default 204.
	OptionsSuccessStatus int
	// Debug logs every CORS decision at Debug level (log package).
	Debug bool
}

// AllowAllCORSOptions returns options that allow every origin, header and
// the methods HEAD, GET, POST, PUT, PATCH and DELETE, without credentials
// (rpcx's defaults for SetCORS).
func AllowAllCORSOptions() *CORSOptions {
	return &CORSOptions{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodHead, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"*"},
	}
}

// SetCORS turns on CORS handling for HTTP invoke and JSON-RPC requests
// with options (nil turns it off). Preflight requests (OPTIONS with
// Access-Control-Request-Method) are answered by the server unless
// OptionsPassthrough is set. Safe to call while serving.
func (s *Server) SetCORS(options *CORSOptions) {
	if options == nil {
		s.cors.Store(nil)
		return
	}
	s.cors.Store(newCORS(*options))
}

// corsPolicy is a compiled CORSOptions.
type corsPolicy struct {
	c *cors.Cors
}

func newCORS(o CORSOptions) *corsPolicy {
	opts := cors.Options{
		AllowedOrigins:         o.AllowedOrigins,
		AllowOriginFunc:        o.AllowOriginFunc,
		AllowOriginRequestFunc: o.AllowOriginRequestFunc,
		AllowedMethods:         o.AllowedMethods,
		AllowedHeaders:         o.AllowedHeaders,
		ExposedHeaders:         o.ExposedHeaders,
		MaxAge:                 o.MaxAge,
		AllowCredentials:       o.AllowCredentials,
		AllowPrivateNetwork:    o.AllowPrivateNetwork,
		OptionsPassthrough:     o.OptionsPassthrough,
		OptionsSuccessStatus:   o.OptionsSuccessStatus,
	}
	if o.Debug {
		opts.Logger = corsLogger{}
	}
	return &corsPolicy{c: cors.New(opts)}
}

// handle applies the policy to r. It reports whether r was a preflight
// request that has been answered (the caller must stop).
func (p *corsPolicy) handle(w http.ResponseWriter, r *http.Request) bool {
	answered := true
	p.c.ServeHTTP(w, r, func(http.ResponseWriter, *http.Request) { answered = false })
	return answered
}

// corsLogger sends rs/cors's debug lines to the log package.
type corsLogger struct{}

func (corsLogger) Printf(format string, v ...interface{}) {
	log.Debugf("server: cors: %s", fmt.Sprintf(format, v...))
}
