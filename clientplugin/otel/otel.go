package otel

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/internal/otelobs"
	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/protocol"
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
	// WithPropagators writes the trace context with a
	// propagation.TextMapPropagator. Default: the global propagator, or W3C
	// trace context + baggage when none is set.
	WithPropagators = otelobs.WithPropagators
	// WithoutTraces turns spans off (metrics only).
	WithoutTraces = otelobs.WithoutTraces
	// WithoutMetrics turns metrics off (spans only).
	WithoutMetrics = otelobs.WithoutMetrics
)

// OpenTelemetryPlugin is the client plugin (client.CallObserverPlugin and
// client.AttemptObserverPlugin). Safe for concurrent use.
type OpenTelemetryPlugin struct {
	cfg otelobs.Config

	duration metric.Float64Histogram
	reqSize  metric.Int64Histogram
	resSize  metric.Int64Histogram
	active   metric.Int64UpDownCounter
	attempts metric.Int64Counter
	retries  metric.Int64Counter
	hedges   metric.Int64Counter
	sets     otelobs.SetCache
}

// New returns a plugin configured by opts.
func New(opts ...Option) *OpenTelemetryPlugin {
	p := &OpenTelemetryPlugin{cfg: otelobs.Apply(opts)}
	p.init()
	return p
}

// NewOpenTelemetryPlugin returns a plugin tracing with tracer and writing
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
	p.duration = otelobs.Must(m.Float64Histogram("rpc.client.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of calls made, all attempts included."), metric.WithExplicitBucketBoundaries(rpcobs.DurationBuckets...)))
	p.reqSize = otelobs.Must(m.Int64Histogram("rpc.client.request.size", metric.WithUnit("By"),
		metric.WithDescription("Payload size of requests sent."), metric.WithExplicitBucketBoundaries(rpcobs.SizeBuckets...)))
	p.resSize = otelobs.Must(m.Int64Histogram("rpc.client.response.size", metric.WithUnit("By"),
		metric.WithDescription("Payload size of responses received."), metric.WithExplicitBucketBoundaries(rpcobs.SizeBuckets...)))
	p.active = otelobs.Must(m.Int64UpDownCounter("courier.client.active_calls", metric.WithUnit("{call}"),
		metric.WithDescription("Calls in progress.")))
	p.attempts = otelobs.Must(m.Int64Counter("courier.client.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Requests sent on connections (attempts of calls).")))
	p.retries = otelobs.Must(m.Int64Counter("courier.client.retries", metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts after the first of a Failover or Failtry call.")))
	p.hedges = otelobs.Must(m.Int64Counter("courier.client.hedges", metric.WithUnit("{attempt}"),
		metric.WithDescription("Extra concurrent attempts of a Failbackup call.")))
}

// callKey and attemptKey mark the states in ctx.
type (
	callKey    struct{}
	attemptKey struct{}
)

// callState is one XClient operation.
type callState struct {
	start    time.Time
	span     trace.Span
	info     client.CallInfo
	attempts atomic.Int32
}

// attemptState is one request on a connection.
type attemptState struct {
	start   time.Time
	span    trace.Span
	service string
	method  string
	call    *callState // nil: a plain Client call
	reqSize int
}

func (p *OpenTelemetryPlugin) baseAttrs(service, method string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String(rpcobs.KeySystem, rpcobs.System),
		attribute.String(rpcobs.KeyMethod, rpcobs.Method(service, method)),
	}
}

// StartCall starts the operation's span.
func (p *OpenTelemetryPlugin) StartCall(ctx context.Context, info *client.CallInfo) context.Context {
	st := &callState{start: time.Now(), info: *info}
	if !p.cfg.NoMetrics {
		p.active.Add(ctx, 1)
	}
	if !p.cfg.NoTraces {
		attrs := append(p.baseAttrs(info.ServicePath, info.ServiceMethod),
			attribute.String(rpcobs.KeyFailMode, failModeName(info)))
		if info.Kind == client.KindOneway {
			attrs = append(attrs, attribute.Bool(rpcobs.KeyOneway, true))
		}
		ctx, st.span = p.cfg.Tracer.Start(ctx, rpcobs.Method(info.ServicePath, info.ServiceMethod),
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...), trace.WithTimestamp(st.start))
	}
	return context.WithValue(ctx, callKey{}, st)
}

// EndCall records the operation's outcome and ends its span.
func (p *OpenTelemetryPlugin) EndCall(ctx context.Context, info *client.CallInfo, err error) {
	st, _ := ctx.Value(callKey{}).(*callState)
	if st == nil {
		return
	}
	code := share.CodeOf(err)
	if !p.cfg.NoMetrics {
		p.active.Add(ctx, -1)
		p.duration.Record(ctx, time.Since(st.start).Seconds(), p.sets.Get(info.ServicePath, info.ServiceMethod, code))
	}
	endSpan(st.span, code, err)
}

// StartAttempt starts the attempt's span, a child of the operation's, and
// writes its trace context into the request metadata.
func (p *OpenTelemetryPlugin) StartAttempt(ctx context.Context, req *protocol.Message, remoteAddr string) context.Context {
	st := &attemptState{start: time.Now(), service: req.ServicePath, method: req.ServiceMethod, reqSize: len(req.Payload)}
	st.call, _ = ctx.Value(callKey{}).(*callState)
	n := int32(1)
	if st.call != nil {
		n = st.call.attempts.Add(1)
	} else if !p.cfg.NoMetrics {
		p.active.Add(ctx, 1)
	}
	if !p.cfg.NoMetrics {
		p.attempts.Add(ctx, 1)
		if n > 1 && st.call != nil {
			if st.call.info.FailMode == client.Failbackup {
				p.hedges.Add(ctx, 1)
			} else if st.call.info.Kind == client.KindCall {
				p.retries.Add(ctx, 1)
			}
		}
	}
	if !p.cfg.NoTraces {
		attrs := append(p.baseAttrs(req.ServicePath, req.ServiceMethod), attribute.Int(rpcobs.KeyAttempt, int(n)))
		attrs = append(attrs, otelobs.AddrAttrs(remoteAddr, rpcobs.KeyServerAddress, rpcobs.KeyServerPort)...)
		if req.IsOneway() {
			attrs = append(attrs, attribute.Bool(rpcobs.KeyOneway, true))
		}
		ctx, st.span = p.cfg.Tracer.Start(ctx, rpcobs.Method(req.ServicePath, req.ServiceMethod),
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...), trace.WithTimestamp(st.start))
	}
	carrier := otelobs.NewCarrier(req.Metadata)
	p.cfg.Propagators.Inject(ctx, carrier)
	req.Metadata = carrier.Map()
	return context.WithValue(ctx, attemptKey{}, st)
}

// EndAttempt records the attempt's outcome and ends its span.
func (p *OpenTelemetryPlugin) EndAttempt(ctx context.Context, res *protocol.Message, err error) {
	st, _ := ctx.Value(attemptKey{}).(*attemptState)
	if st == nil {
		return
	}
	code := share.CodeOf(err)
	if !p.cfg.NoMetrics {
		opt := p.sets.Get(st.service, st.method, code)
		p.reqSize.Record(ctx, int64(st.reqSize), opt)
		if res != nil {
			p.resSize.Record(ctx, int64(len(res.Payload)), opt)
		}
		if st.call == nil { // a plain Client call: the attempt is the call
			p.active.Add(ctx, -1)
			p.duration.Record(ctx, time.Since(st.start).Seconds(), opt)
		}
	}
	endSpan(st.span, code, err)
}

// endSpan sets the outcome of span (nil: none) and ends it.
func endSpan(span trace.Span, code share.Code, err error) {
	if span == nil {
		return
	}
	span.SetAttributes(otelobs.OutcomeAttrs(code)...)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// failModeName returns the fail mode of an operation as a word.
func failModeName(info *client.CallInfo) string {
	if info.Kind != client.KindCall && info.Kind != client.KindOneway {
		return info.Kind.String()
	}
	switch info.FailMode {
	case client.Failover:
		return "failover"
	case client.Failfast:
		return "failfast"
	case client.Failtry:
		return "failtry"
	case client.Failbackup:
		return "failbackup"
	}
	return "unknown"
}

var (
	_ client.CallObserverPlugin    = (*OpenTelemetryPlugin)(nil)
	_ client.AttemptObserverPlugin = (*OpenTelemetryPlugin)(nil)
)
