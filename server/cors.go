package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/courier-rpc/courier/log"
)

// CORSOptions configures cross-origin resource sharing for the server's
// HTTP side (HTTP invoke and JSON-RPC). Its fields have the names and
// meaning of github.com/rs/cors's Options, which rpcx uses; courier
// implements the checks itself.
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
	// Debug logs every CORS decision at Debug level.
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
	opts           CORSOptions
	allOrigins     bool
	origins        []string        // lower-case, exact
	wildcards      [][2]string     // prefix, suffix
	methods        map[string]bool // upper-case
	allHeaders     bool
	headers        map[string]bool // canonical
	exposed        string
	successStatus  int
	maxAgeHeader   string
	allowPrivateNw bool
}

func newCORS(o CORSOptions) *corsPolicy {
	p := &corsPolicy{opts: o, methods: map[string]bool{}, headers: map[string]bool{"Origin": true}, successStatus: o.OptionsSuccessStatus}
	if p.successStatus == 0 {
		p.successStatus = http.StatusNoContent
	}
	if len(o.AllowedOrigins) == 0 {
		p.allOrigins = true
	}
	for _, origin := range o.AllowedOrigins {
		origin = strings.ToLower(origin)
		switch i := strings.IndexByte(origin, '*'); {
		case origin == "*":
			p.allOrigins = true
		case i >= 0:
			p.wildcards = append(p.wildcards, [2]string{origin[:i], origin[i+1:]})
		default:
			p.origins = append(p.origins, origin)
		}
	}
	methods := o.AllowedMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodPost, http.MethodHead}
	}
	for _, m := range methods {
		p.methods[strings.ToUpper(m)] = true
	}
	headers := o.AllowedHeaders
	if len(headers) == 0 {
		headers = []string{"Accept", "Content-Type", "X-Requested-With"}
	}
	for _, h := range headers {
		if h == "*" {
			p.allHeaders = true
			continue
		}
		p.headers[http.CanonicalHeaderKey(strings.TrimSpace(h))] = true
	}
	canon := make([]string, len(o.ExposedHeaders))
	for i, h := range o.ExposedHeaders {
		canon[i] = http.CanonicalHeaderKey(h)
	}
	p.exposed = strings.Join(canon, ", ")
	if o.MaxAge > 0 {
		p.maxAgeHeader = strconv.Itoa(o.MaxAge)
	}
	return p
}

// handle applies the policy to r. It reports whether r was a preflight
// request that has been answered (the caller must stop).
func (p *corsPolicy) handle(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		p.preflight(w, r)
		if p.opts.OptionsPassthrough {
			return false
		}
		w.WriteHeader(p.successStatus)
		return true
	}
	p.actual(w, r)
	return false
}

func (p *corsPolicy) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	origin := r.Header.Get("Origin")
	if origin == "" {
		p.debugf("preflight aborted: empty origin")
		return
	}
	if !p.originAllowed(r, origin) {
		p.debugf("preflight aborted: origin %q not allowed", origin)
		return
	}
	method := strings.ToUpper(r.Header.Get("Access-Control-Request-Method"))
	if !p.methodAllowed(method) {
		p.debugf("preflight aborted: method %q not allowed", method)
		return
	}
	reqHeaders := splitHeaderList(r.Header.Values("Access-Control-Request-Headers"))
	if !p.headersAllowed(reqHeaders) {
		p.debugf("preflight aborted: headers %v not allowed", reqHeaders)
		return
	}
	p.setOrigin(h, origin)
	h.Set("Access-Control-Allow-Methods", method)
	if len(reqHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
	}
	if p.opts.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.opts.AllowPrivateNetwork && r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	if p.maxAgeHeader != "" {
		h.Set("Access-Control-Max-Age", p.maxAgeHeader)
	}
	p.debugf("preflight from %q for %s allowed", origin, method)
}

func (p *corsPolicy) actual(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	if !p.originAllowed(r, origin) {
		p.debugf("request from origin %q not allowed", origin)
		return
	}
	if !p.methodAllowed(r.Method) {
		p.debugf("request method %s not allowed", r.Method)
		return
	}
	p.setOrigin(h, origin)
	if p.exposed != "" {
		h.Set("Access-Control-Expose-Headers", p.exposed)
	}
	if p.opts.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func (p *corsPolicy) setOrigin(h http.Header, origin string) {
	if p.allOrigins && !p.opts.AllowCredentials && p.opts.AllowOriginFunc == nil && p.opts.AllowOriginRequestFunc == nil {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
}

func (p *corsPolicy) originAllowed(r *http.Request, origin string) bool {
	switch {
	case p.opts.AllowOriginRequestFunc != nil:
		return p.opts.AllowOriginRequestFunc(r, origin)
	case p.opts.AllowOriginFunc != nil:
		return p.opts.AllowOriginFunc(origin)
	case p.allOrigins:
		return true
	}
	origin = strings.ToLower(origin)
	for _, o := range p.origins {
		if o == origin {
			return true
		}
	}
	for _, w := range p.wildcards {
		if len(origin) >= len(w[0])+len(w[1]) && strings.HasPrefix(origin, w[0]) && strings.HasSuffix(origin, w[1]) {
			return true
		}
	}
	return false
}

func (p *corsPolicy) methodAllowed(method string) bool {
	if method == http.MethodOptions {
		return true // preflights are always allowed
	}
	return p.methods[strings.ToUpper(method)]
}

func (p *corsPolicy) headersAllowed(hs []string) bool {
	if p.allHeaders {
		return true
	}
	for _, h := range hs {
		if !p.headers[http.CanonicalHeaderKey(h)] {
			return false
		}
	}
	return true
}

func (p *corsPolicy) debugf(format string, v ...interface{}) {
	if p.opts.Debug {
		log.Debugf("server: cors: "+format, v...)
	}
}

// splitHeaderList splits comma-separated header lists into trimmed,
// non-empty names.
func splitHeaderList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				out = append(out, h)
			}
		}
	}
	return out
}
