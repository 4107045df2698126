package otel

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/internal/otelobs"
	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Option configures New (the same options as the other side's plugin).
type Option = otelobs.Option

// The options of New.
var (
	// WithTracerProvider records spans with a trace.TracerProvider.
	// Default: the global provider.
	WithTracerProvider = otelobs.WithTracerProvider
	// WithMeterProvider records metrics with a metric.MeterProvider.
	// Default: the global provider.
	WithMeterProvider = otelobs.WithMeterProvider
	// WithPropagators reads the trace context with a
	// propagation.TextMapPropagator. Default: the global propagator, or W3C
	// trace context + baggage when none is set. propagation.TraceContext,
	// propagation.Baggage and composites of them are run by the plugin's
	// own code, which allocates nothing for the trace context.
	WithPropagators = otelobs.WithPropagators
	// WithStartAttributes gives a span's attributes when it starts, so
	// that a sampler sees them; by default they are set right after the
	// start, and only on a span that records (cheaper; a sampler sees the
	// name "Service/Method" and the kind).
	WithStartAttributes = otelobs.WithStartAttributes
	// WithoutTraces turns spans off (metrics only).
	WithoutTraces = otelobs.WithoutTraces
	// WithoutMetrics turns metrics off (spans only).
	WithoutMetrics = otelobs.WithoutMetrics
)

// OpenTelemetryPlugin is the server plugin. Add it to a server's Plugins;
// it is safe for concurrent use.
type OpenTelemetryPlugin struct {
	cfg otelobs.Config

	calls   *otelobs.Instruments
	conns   atomic.Int64 // open connections, observed by courier.server.connections.open
	refused metric.Int64Counter

	methods otelobs.Methods
	peers   sync.Map // net.Conn -> *peer
	npeers  atomic.Int32
	kind    trace.SpanStartOption
}

// New returns a plugin configured by opts.
func New(opts ...Option) *OpenTelemetryPlugin {
	p := &OpenTelemetryPlugin{cfg: otelobs.Apply(opts)}
	p.init()
	return p
}

// NewOpenTelemetryPlugin returns a plugin tracing with tracer and reading
// the trace context with propagators (rpcx's constructor); metrics go to
// the global meter provider.
func NewOpenTelemetryPlugin(tracer trace.Tracer, propagators propagation.TextMapPropagator) *OpenTelemetryPlugin {
	p := &OpenTelemetryPlugin{cfg: otelobs.Config{Tracer: tracer, Propagators: propagators}}
	p.init()
	return p
}

func (p *OpenTelemetryPlugin) init() {
	p.cfg.Resolve()
	p.kind = trace.WithSpanKind(trace.SpanKindServer)
	m := p.cfg.Meter()
	p.calls = otelobs.NewInstruments(m, "server", "Duration of calls served.")
	otelobs.ObserveGauge(m, "courier.server.connections.open", "{connection}", "Open client connections.", &p.conns)
	p.refused = otelobs.Must(m.Int64Counter("courier.server.calls.refused", metric.WithUnit("{call}"),
		metric.WithDescription("Calls refused before running because the server was overloaded.")))
}

// callState is what StartCall leaves for EndCall: the call's ctx, found
// again by its own key (one allocation per call instead of a state and a
// context.WithValue). It also answers otelobs.SpanKey: with the caller's
// span context (parent) while the span starts, then with the call's span,
// so that neither costs a context.WithValue.
type callState struct {
	context.Context
	start  time.Time
	method *otelobs.Method
	span   trace.Span
	cur    trace.Span // what SpanKey finds (nil: whatever Context has)
	parent otelobs.ParentSpan
	opts   [2]trace.SpanStartOption
}

// callKey marks a callState in a ctx.
type callKey struct{}

// Value returns st for callKey, the current span for otelobs.SpanKey,
// else what the parent ctx has.
func (st *callState) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return st
	}
	if st.cur != nil && key == otelobs.SpanKey {
		return st.cur
	}
	return st.Context.Value(key)
}

// StartCall extracts the caller's trace context from the request metadata
// and starts the call's SERVER span. Its attributes come from caches (per
// method, per connection) and are set only when the span records; a
// successful call sets none after that.
func (p *OpenTelemetryPlugin) StartCall(ctx context.Context, conn net.Conn, req *protocol.Message) context.Context {
	st := &callState{start: time.Now(), method: p.methods.Get(req.ServicePath, req.ServiceMethod)}
	if !p.cfg.NoMetrics {
		p.calls.Active.Add(1)
	}
	if p.cfg.NoTraces {
		st.Context = ctx
		return st
	}
	local := localSpan(ctx)
	ctx, sc := p.cfg.Extract(ctx, req.Metadata)
	if local.IsValid() { // the data phase of a transfer: a child of its token call's span
		if sc.IsValid() && sc.TraceID() == local.TraceID() {
			sc = trace.SpanContext{}
		} else if r := trace.SpanContextFromContext(ctx); !sc.IsValid() && r.IsRemote() && r.TraceID() == local.TraceID() {
			ctx = trace.ContextWithSpanContext(ctx, local) // a propagator of its own put the caller's there
		}
	}
	if sc.IsValid() {
		if otelobs.SpanKey != nil {
			st.parent.SC = sc
			st.cur = &st.parent
		} else {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	st.Context = ctx
	st.opts[0] = p.kind
	sctx, span := p.cfg.StartSpan(st, st.method.Name, st.opts[:1], p.attrs(conn, st.method, req.IsOneway()))
	st.span = span
	if otelobs.SpanKey != nil {
		st.cur = span
	}
	return otelobs.Started(st, sctx)
}

// localSpan returns the span context of this process that ctx holds, if
// any: the server gives the data phase of a file transfer or stream the
// ctx of its token call (see server.CallObserverPlugin), whose span is
// then the parent rather than the client's attempt the metadata names. A
// call's ctx holds none otherwise.
func localSpan(ctx context.Context) trace.SpanContext {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !sc.IsRemote() {
		return sc
	}
	return trace.SpanContext{}
}

// peer is what the plugin keeps per connection: its address attributes
// and, per method (and oneway or not), all the attributes of a span's
// start.
type peer struct {
	attrs   []attribute.KeyValue
	methods sync.Map // spanKey -> *otelobs.Attrs
	n       atomic.Int32
}

// spanKey is the shape of a call's span on one connection.
type spanKey struct {
	m      *otelobs.Method
	oneway bool
}

// attrs returns the attributes of a call of m on conn (nil: none),
// cached until the connection closes.
func (p *OpenTelemetryPlugin) attrs(conn net.Conn, m *otelobs.Method, oneway bool) *otelobs.Attrs {
	if conn == nil {
		if oneway {
			return otelobs.NewAttrs(append(slices.Clip(m.Attrs), onewayAttr))
		}
		return m.Start
	}
	v, ok := p.peers.Load(conn)
	if !ok {
		attrs := otelobs.AddrAttrs(conn.LocalAddr().String(), rpcobs.KeyServerAddress, rpcobs.KeyServerPort)
		attrs = append(attrs, otelobs.AddrAttrs(conn.RemoteAddr().String(), rpcobs.KeyPeerAddress, rpcobs.KeyPeerPort)...)
		v = &peer{attrs: append(attrs, attribute.String(rpcobs.KeyTransport, transport(conn)))}
		if p.npeers.Load() < otelobs.MaxCached {
			var loaded bool
			if v, loaded = p.peers.LoadOrStore(conn, v); !loaded {
				p.npeers.Add(1)
			}
		}
	}
	pe := v.(*peer)
	k := spanKey{m, oneway}
	if a, ok := pe.methods.Load(k); ok {
		return a.(*otelobs.Attrs)
	}
	kvs := append(slices.Clip(m.Attrs), pe.attrs...)
	if oneway {
		kvs = append(kvs, onewayAttr)
	}
	a := otelobs.NewAttrs(kvs)
	if pe.n.Load() < otelobs.MaxCached {
		if _, loaded := pe.methods.LoadOrStore(k, a); !loaded {
			pe.n.Add(1)
		}
	}
	return a
}

// onewayAttr marks a oneway call's span.
var onewayAttr = attribute.Bool(rpcobs.KeyOneway, true)

// EndCall records the call's outcome and ends its span.
func (p *OpenTelemetryPlugin) EndCall(ctx context.Context, req, res *protocol.Message, err error) {
	st, _ := ctx.Value(callKey{}).(*callState)
	if st == nil {
		return
	}
	code := share.CodeOf(err)
	out := st.method.Outcome(code)
	if !p.cfg.NoMetrics {
		p.calls.Duration.Record(st, time.Since(st.start).Seconds(), out.Record...)
		p.calls.Sizes(st, out, len(req.Payload), resLen(res), res != nil)
		p.calls.Active.Add(-1)
		if code == share.CodeOverloaded {
			p.refused.Add(st, 1, out.Add...)
		}
	}
	otelobs.EndSpan(st.span, out, err)
}

func resLen(res *protocol.Message) int {
	if res == nil {
		return 0
	}
	return len(res.Payload)
}

// HandleConnAccept counts an open connection.
func (p *OpenTelemetryPlugin) HandleConnAccept(c net.Conn) (net.Conn, bool) {
	p.conns.Add(1)
	return c, true
}

// HandleConnClose counts a closed connection and forgets its attributes.
func (p *OpenTelemetryPlugin) HandleConnClose(c net.Conn) bool {
	p.conns.Add(-1)
	if _, ok := p.peers.LoadAndDelete(c); ok {
		p.npeers.Add(-1)
	}
	return true
}

// PostWriteRequest records a PRODUCER span for a message pushed to a
// client (SendMessage), a child of the span in ctx if any.
func (p *OpenTelemetryPlugin) PostWriteRequest(ctx context.Context, r *protocol.Message, e error) error {
	if p.cfg.NoTraces || r == nil {
		return nil
	}
	m := p.methods.Get(r.ServicePath, r.ServiceMethod)
	_, span := p.cfg.StartSpan(ctx, m.Name, []trace.SpanStartOption{producerKind, nil}[:1], m.Start)
	otelobs.EndSpan(span, m.Outcome(share.CodeOf(e)), e)
	return nil
}

// producerKind marks a pushed message's span.
var producerKind = trace.WithSpanKind(trace.SpanKindProducer)

// transport returns network.transport for conn: "unix" or "tcp" (the
// stream transports courier serves; QUIC and KCP report theirs as "udp").
func transport(conn net.Conn) string {
	switch conn.LocalAddr().Network() {
	case "unix", "unixpacket":
		return "unix"
	case "udp", "quic", "kcp":
		return "udp"
	}
	return "tcp"
}

var (
	_ server.CallObserverPlugin     = (*OpenTelemetryPlugin)(nil)
	_ server.PostConnAcceptPlugin   = (*OpenTelemetryPlugin)(nil)
	_ server.PostWriteRequestPlugin = (*OpenTelemetryPlugin)(nil)
)
