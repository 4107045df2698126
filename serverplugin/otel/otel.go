package otel

import (
	"context"
	"net"
	"time"

	"github.com/courier-rpc/courier/internal/otelobs"
	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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
	// trace context + baggage when none is set.
	WithPropagators = otelobs.WithPropagators
	// WithoutTraces turns spans off (metrics only).
	WithoutTraces = otelobs.WithoutTraces
	// WithoutMetrics turns metrics off (spans only).
	WithoutMetrics = otelobs.WithoutMetrics
)

// OpenTelemetryPlugin is the server plugin. Add it to a server's Plugins;
// it is safe for concurrent use.
type OpenTelemetryPlugin struct {
	cfg otelobs.Config

	duration metric.Float64Histogram
	reqSize  metric.Int64Histogram
	resSize  metric.Int64Histogram
	active   metric.Int64UpDownCounter
	conns    metric.Int64UpDownCounter
	refused  metric.Int64Counter
	sets     otelobs.SetCache
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
	m := p.cfg.Meter()
	p.duration = otelobs.Must(m.Float64Histogram("rpc.server.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of calls served."), metric.WithExplicitBucketBoundaries(rpcobs.DurationBuckets...)))
	p.reqSize = otelobs.Must(m.Int64Histogram("rpc.server.request.size", metric.WithUnit("By"),
		metric.WithDescription("Payload size of requests served."), metric.WithExplicitBucketBoundaries(rpcobs.SizeBuckets...)))
	p.resSize = otelobs.Must(m.Int64Histogram("rpc.server.response.size", metric.WithUnit("By"),
		metric.WithDescription("Payload size of responses sent."), metric.WithExplicitBucketBoundaries(rpcobs.SizeBuckets...)))
	p.active = otelobs.Must(m.Int64UpDownCounter("courier.server.active_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls being served.")))
	p.conns = otelobs.Must(m.Int64UpDownCounter("courier.server.connections.open", metric.WithUnit("{connection}"),
		metric.WithDescription("Open client connections.")))
	p.refused = otelobs.Must(m.Int64Counter("courier.server.calls.refused", metric.WithUnit("{call}"),
		metric.WithDescription("Calls refused before running because the server was overloaded.")))
}

// callKey marks a call's state in its ctx.
type callKey struct{}

// callState is what StartCall leaves for EndCall.
type callState struct {
	start time.Time
	span  trace.Span
}

// StartCall extracts the caller's trace context from the request metadata
// and starts the call's SERVER span.
func (p *OpenTelemetryPlugin) StartCall(ctx context.Context, conn net.Conn, req *protocol.Message) context.Context {
	st := &callState{start: time.Now()}
	if !p.cfg.NoMetrics {
		p.active.Add(ctx, 1)
	}
	if !p.cfg.NoTraces {
		ctx = p.cfg.Propagators.Extract(ctx, otelobs.NewCarrier(req.Metadata))
		attrs := make([]attribute.KeyValue, 0, 9)
		attrs = append(attrs,
			attribute.String(rpcobs.KeySystem, rpcobs.System),
			attribute.String(rpcobs.KeyMethod, rpcobs.Method(req.ServicePath, req.ServiceMethod)))
		if conn != nil {
			attrs = append(attrs, otelobs.AddrAttrs(conn.LocalAddr().String(), rpcobs.KeyServerAddress, rpcobs.KeyServerPort)...)
			attrs = append(attrs, otelobs.AddrAttrs(conn.RemoteAddr().String(), rpcobs.KeyPeerAddress, rpcobs.KeyPeerPort)...)
			attrs = append(attrs, attribute.String(rpcobs.KeyTransport, transport(conn)))
		}
		if req.IsOneway() {
			attrs = append(attrs, attribute.Bool(rpcobs.KeyOneway, true))
		}
		ctx, st.span = p.cfg.Tracer.Start(ctx, rpcobs.Method(req.ServicePath, req.ServiceMethod),
			trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...), trace.WithTimestamp(st.start))
	}
	return context.WithValue(ctx, callKey{}, st)
}

// EndCall records the call's outcome and ends its span.
func (p *OpenTelemetryPlugin) EndCall(ctx context.Context, req, res *protocol.Message, err error) {
	st, _ := ctx.Value(callKey{}).(*callState)
	if st == nil {
		return
	}
	code := share.CodeOf(err)
	if !p.cfg.NoMetrics {
		opt := p.sets.Get(req.ServicePath, req.ServiceMethod, code)
		p.duration.Record(ctx, time.Since(st.start).Seconds(), opt)
		p.reqSize.Record(ctx, int64(len(req.Payload)), opt)
		if res != nil {
			p.resSize.Record(ctx, int64(len(res.Payload)), opt)
		}
		p.active.Add(ctx, -1)
		if code == share.CodeOverloaded {
			p.refused.Add(ctx, 1, opt)
		}
	}
	if st.span != nil {
		st.span.SetAttributes(otelobs.OutcomeAttrs(code)...)
		if err != nil {
			st.span.SetStatus(codes.Error, err.Error())
		}
		st.span.End()
	}
}

// HandleConnAccept counts an open connection.
func (p *OpenTelemetryPlugin) HandleConnAccept(c net.Conn) (net.Conn, bool) {
	if !p.cfg.NoMetrics {
		p.conns.Add(context.Background(), 1)
	}
	return c, true
}

// HandleConnClose counts a closed connection.
func (p *OpenTelemetryPlugin) HandleConnClose(net.Conn) bool {
	if !p.cfg.NoMetrics {
		p.conns.Add(context.Background(), -1)
	}
	return true
}

// PostWriteRequest records a PRODUCER span for a message pushed to a
// client (SendMessage), a child of the span in ctx if any.
func (p *OpenTelemetryPlugin) PostWriteRequest(ctx context.Context, r *protocol.Message, e error) error {
	if p.cfg.NoTraces || r == nil {
		return nil
	}
	_, span := p.cfg.Tracer.Start(ctx, rpcobs.Method(r.ServicePath, r.ServiceMethod), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String(rpcobs.KeySystem, rpcobs.System),
			attribute.String(rpcobs.KeyMethod, rpcobs.Method(r.ServicePath, r.ServiceMethod))))
	span.SetAttributes(otelobs.OutcomeAttrs(share.CodeOf(e))...)
	if e != nil {
		span.SetStatus(codes.Error, e.Error())
	}
	span.End()
	return nil
}

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
