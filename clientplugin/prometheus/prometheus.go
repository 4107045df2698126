package prometheus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/share"
	prom "github.com/prometheus/client_golang/prometheus"
)

// ErrNilRegisterer is returned by New and Install for a nil registerer.
var ErrNilRegisterer = errors.New("prometheus: nil registerer")

// ErrNilXClient is returned by Instrument for a nil XClient.
var ErrNilXClient = errors.New("prometheus: nil XClient")

// Option configures New.
type Option func(*config)

type config struct {
	buckets []float64
}

// WithBuckets sets the duration histogram's bucket boundaries in seconds.
// Default rpcobs.FineDurationBuckets: the semantic conventions' buckets
// with sub-millisecond ones below them.
func WithBuckets(b []float64) Option { return func(c *config) { c.buckets = b } }

// Plugin is a client plugin (client.CallObserverPlugin) recording into a
// Prometheus registerer, and the exporter of the counters of the XClients
// it instruments. Safe for concurrent use.
type Plugin struct {
	duration *prom.HistogramVec
	inflight prom.Gauge
	stats    *statsCollector

	series sync.Map // seriesKey -> prom.Observer
}

type seriesKey struct {
	service, method string
	code            share.Code
}

// New returns a plugin whose metrics are registered on reg. Add it to
// XClients with Instrument (or client.XClient.GetPlugins().Add, which
// records calls but exports no counters). Errors: ErrNilRegisterer, or
// those of registering (metrics of the same names already there).
func New(reg prom.Registerer, opts ...Option) (*Plugin, error) {
	if reg == nil {
		return nil, ErrNilRegisterer
	}
	c := config{buckets: rpcobs.FineDurationBuckets}
	for _, o := range opts {
		o(&c)
	}
	p := &Plugin{
		duration: prom.NewHistogramVec(prom.HistogramOpts{
			Name: "rpc_client_call_duration_seconds", Help: "Duration of XClient calls, every attempt included.", Buckets: c.buckets,
		}, []string{"rpc_system_name", "rpc_method", "rpc_response_status_code", "error_type"}),
		inflight: prom.NewGauge(prom.GaugeOpts{Name: "rpc_client_calls_in_flight", Help: "XClient calls under way."}),
		stats:    &statsCollector{},
	}
	for _, col := range []prom.Collector{p.duration, p.inflight, p.stats} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("prometheus: register: %w", err)
		}
	}
	return p, nil
}

// Install creates a plugin registered on reg (see New) and instruments
// every XClient of xs with it. Errors: those of New and Instrument.
func Install(reg prom.Registerer, xs ...client.XClient) (*Plugin, error) {
	p, err := New(reg)
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		if err := p.Instrument(x); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Instrument adds the plugin to x's plugins and exports x.Stats() as the
// courier_client_*_total counters, labelled with x's service path (taken
// from client.Introspector; "" for other XClient implementations).
// Instrumenting an XClient twice exports it once. Errors: ErrNilXClient.
func (p *Plugin) Instrument(x client.XClient) error {
	if x == nil {
		return ErrNilXClient
	}
	if p.stats.add(x) {
		x.GetPlugins().Add(p)
	}
	return nil
}

// startKey marks the call's start in its ctx.
type startKey struct{}

// StartCall counts the call in flight and notes its start time.
func (p *Plugin) StartCall(ctx context.Context, _ *client.CallInfo) context.Context {
	p.inflight.Inc()
	return context.WithValue(ctx, startKey{}, time.Now())
}

// EndCall records the call's duration and outcome.
func (p *Plugin) EndCall(ctx context.Context, info *client.CallInfo, err error) {
	p.inflight.Dec()
	start, ok := ctx.Value(startKey{}).(time.Time)
	if !ok {
		return
	}
	p.lookup(info.ServicePath, info.ServiceMethod, share.CodeOf(err)).Observe(time.Since(start).Seconds())
}

// lookup returns the observer of one method and outcome.
func (p *Plugin) lookup(service, method string, code share.Code) prom.Observer {
	k := seriesKey{service: service, method: method, code: code}
	if v, ok := p.series.Load(k); ok {
		return v.(prom.Observer)
	}
	errType := ""
	if code != share.CodeOK {
		errType = rpcobs.StatusName(code)
	}
	o := p.duration.WithLabelValues(rpcobs.System, rpcobs.Method(service, method), rpcobs.StatusName(code), errType)
	k.service, k.method = string([]byte(service)), string([]byte(method)) // own copies
	v, _ := p.series.LoadOrStore(k, o)
	return v.(prom.Observer)
}

var _ client.CallObserverPlugin = (*Plugin)(nil)
