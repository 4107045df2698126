package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where Install mounts the metrics on the server's port.
const MetricsPath = "/metrics"

// ErrNilServer is returned by Install for a nil server.
var ErrNilServer = errors.New("prometheus: nil server")

// Option configures New.
type Option func(*config)

type config struct {
	reg     *prom.Registry
	buckets []float64
}

// WithRegistry records into reg instead of a new registry of the plugin's
// own (share one registry between plugins and your own metrics).
func WithRegistry(reg *prom.Registry) Option { return func(c *config) { c.reg = reg } }

// WithBuckets sets the duration histogram's bucket boundaries in seconds.
// Default rpcobs.FineDurationBuckets: the semantic conventions' buckets
// with sub-millisecond ones below them.
func WithBuckets(b []float64) Option { return func(c *config) { c.buckets = b } }

// Plugin is a server plugin (server.CallObserverPlugin, connection hooks)
// recording into a Prometheus registry. Safe for concurrent use.
type Plugin struct {
	reg      *prom.Registry
	duration *prom.HistogramVec
	reqSize  *prom.HistogramVec
	resSize  *prom.HistogramVec
	inflight prom.Gauge
	conns    prom.Gauge

	series sync.Map // seriesKey -> *series
}

type seriesKey struct {
	service, method string
	code            share.Code
}

// series holds the observers of one method and outcome, looked up once.
type series struct {
	duration, reqSize, resSize prom.Observer
}

// New returns a plugin with its metrics registered. Errors: those of
// registering into a registry that already has metrics of the same names.
func New(opts ...Option) (*Plugin, error) {
	c := config{buckets: rpcobs.FineDurationBuckets}
	for _, o := range opts {
		o(&c)
	}
	if c.reg == nil {
		c.reg = prom.NewRegistry()
	}
	p := &Plugin{
		reg: c.reg,
		duration: prom.NewHistogramVec(prom.HistogramOpts{
			Name: "rpc_server_call_duration_seconds", Help: "Duration of calls served, from read to reply encoded.", Buckets: c.buckets,
		}, []string{"rpc_system_name", "rpc_method", "rpc_response_status_code", "error_type"}),
		reqSize: prom.NewHistogramVec(prom.HistogramOpts{
			Name: "rpc_server_request_size_bytes", Help: "Payload size of requests served.", Buckets: rpcobs.SizeBuckets,
		}, []string{"rpc_method"}),
		resSize: prom.NewHistogramVec(prom.HistogramOpts{
			Name: "rpc_server_response_size_bytes", Help: "Payload size of responses sent.", Buckets: rpcobs.SizeBuckets,
		}, []string{"rpc_method"}),
		inflight: prom.NewGauge(prom.GaugeOpts{Name: "rpc_server_calls_in_flight", Help: "Calls being served."}),
		conns:    prom.NewGauge(prom.GaugeOpts{Name: "rpc_server_connections_open", Help: "Open client connections."}),
	}
	for _, col := range []prom.Collector{p.duration, p.reqSize, p.resSize, p.inflight, p.conns} {
		if err := c.reg.Register(col); err != nil {
			return nil, fmt.Errorf("prometheus: register: %w", err)
		}
	}
	return p, nil
}

// Install creates a plugin (see New), adds it to s, mounts its handler at
// MetricsPath on s's port and exports s.Stats() as courier_server_*
// counters. Errors: ErrNilServer, or those of New.
func Install(s *server.Server, opts ...Option) (*Plugin, error) {
	if s == nil {
		return nil, ErrNilServer
	}
	p, err := New(opts...)
	if err != nil {
		return nil, err
	}
	if err := p.reg.Register(statsCollector{s}); err != nil {
		return nil, fmt.Errorf("prometheus: register stats: %w", err)
	}
	s.Plugins.Add(p)
	s.HandleHTTP(MetricsPath, p.Handler())
	return p, nil
}

// Registry returns the registry the plugin records into.
func (p *Plugin) Registry() *prom.Registry { return p.reg }

// Handler returns the HTTP handler of the registry, answering OpenMetrics
// text when the scraper asks for it and the classic text format otherwise.
func (p *Plugin) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// ListenAndServe serves the metrics at MetricsPath on addr (an admin
// address, apart from the rpc port) until ctx is done; it returns nil
// then, or the listener's error.
func (p *Plugin) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("prometheus: listen %s: %w", addr, err)
	}
	return p.Serve(ctx, ln)
}

// Serve serves the metrics at MetricsPath on ln until ctx is done (nil) or
// ln fails; it closes ln.
func (p *Plugin) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, p.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = hs.Close() })
	defer stop()
	err := hs.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// startKey marks the call's start in its ctx.
type startKey struct{}

// callStart is the value StartCall puts in the ctx.
type callStart struct{ at time.Time }

// StartCall counts the call in flight and notes its start time.
func (p *Plugin) StartCall(ctx context.Context, _ net.Conn, _ *protocol.Message) context.Context {
	p.inflight.Inc()
	return context.WithValue(ctx, startKey{}, callStart{at: time.Now()})
}

// EndCall records the call's duration, sizes and outcome.
func (p *Plugin) EndCall(ctx context.Context, req, res *protocol.Message, err error) {
	p.inflight.Dec()
	st, _ := ctx.Value(startKey{}).(callStart)
	code := share.CodeOf(err)
	s := p.lookup(req.ServicePath, req.ServiceMethod, code)
	s.duration.Observe(time.Since(st.at).Seconds())
	s.reqSize.Observe(float64(len(req.Payload)))
	if res != nil {
		s.resSize.Observe(float64(len(res.Payload)))
	}
}

// lookup returns the observers of one method and outcome.
func (p *Plugin) lookup(service, method string, code share.Code) *series {
	k := seriesKey{service: service, method: method, code: code}
	if v, ok := p.series.Load(k); ok {
		return v.(*series)
	}
	name := rpcobs.Method(service, method)
	if code == share.CodeUnimplemented {
		name = rpcobs.OtherMethod
	}
	errType := ""
	if code != share.CodeOK {
		errType = rpcobs.StatusName(code)
	}
	s := &series{
		duration: p.duration.WithLabelValues(rpcobs.System, name, rpcobs.StatusName(code), errType),
		reqSize:  p.reqSize.WithLabelValues(name),
		resSize:  p.resSize.WithLabelValues(name),
	}
	if code == share.CodeUnimplemented {
		return s // not cached: unknown names must not grow the map
	}
	k.service, k.method = string([]byte(service)), string([]byte(method)) // own copies
	v, _ := p.series.LoadOrStore(k, s)
	return v.(*series)
}

// HandleConnAccept counts an open connection.
func (p *Plugin) HandleConnAccept(c net.Conn) (net.Conn, bool) {
	p.conns.Inc()
	return c, true
}

// HandleConnClose counts a closed connection.
func (p *Plugin) HandleConnClose(net.Conn) bool {
	p.conns.Dec()
	return true
}

// statsCollector exports Server.Stats() at scrape time.
type statsCollector struct{ s *server.Server }

var statDescs = func() map[string]*prom.Desc {
	m := map[string]*prom.Desc{}
	for name, help := range map[string]string{
		"connections_accepted": "Connections accepted.", "connections_closed": "Connections closed.",
		"requests": "Frames decoded (calls, oneway calls, heartbeats).", "heartbeats": "Heartbeat requests.",
		"error_responses": "Responses sent with an error.", "panics": "Handlers that panicked.",
		"protocol_errors": "Connections closed or requests refused for bad frames.",
		"notifications":   "Messages pushed to clients (SendMessage).", "reader_takeovers": "Inline handlers that outlived their grace period.",
		"shed":    "Requests refused as overloaded (over the concurrency limit or queued too long).",
		"expired": "Queued requests dropped without running because their deadline passed.",
	} {
		m[name] = prom.NewDesc("courier_server_"+name+"_total", help, nil, nil)
	}
	return m
}()

// Describe sends the descriptors of the counters.
func (c statsCollector) Describe(ch chan<- *prom.Desc) {
	for _, d := range statDescs {
		ch <- d
	}
}

// Collect sends the counters' current values.
func (c statsCollector) Collect(ch chan<- prom.Metric) {
	st := c.s.Stats()
	for name, v := range map[string]uint64{
		"connections_accepted": st.ConnsAccepted, "connections_closed": st.ConnsClosed, "requests": st.Requests,
		"heartbeats": st.Heartbeats, "error_responses": st.ErrorResponses, "panics": st.Panics,
		"protocol_errors": st.ProtocolErrors, "notifications": st.Notifications, "reader_takeovers": st.ReaderTakeovers,
		"shed": st.Shed, "expired": st.Expired,
	} {
		ch <- prom.MustNewConstMetric(statDescs[name], prom.CounterValue, float64(v))
	}
}

var _ server.CallObserverPlugin = (*Plugin)(nil)
