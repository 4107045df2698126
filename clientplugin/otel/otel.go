package otel

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/internal/otelobs"
	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/protocol"
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
	// WithPropagators writes the trace context with a
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

// OpenTelemetryPlugin is the client plugin (client.CallObserverPlugin and
// client.AttemptObserverPlugin). Safe for concurrent use.
type OpenTelemetryPlugin struct {
	cfg otelobs.Config

	calls    *otelobs.Instruments
	attempts atomic.Int64 // observed by courier.client.attempts
	retries  atomic.Int64 // observed by courier.client.retries
	hedges   atomic.Int64 // observed by courier.client.hedges
	breakers metric.Int64Counter
	xs       instrumented // the XClients whose Stats() are exported (Instrument)

	methods otelobs.Methods
	firsts  sync.Map // firstKey -> *otelobs.Attrs
	nfirsts atomic.Int32
	opers   sync.Map // operKey -> *otelobs.Attrs
	nopers  atomic.Int32
	kind    trace.SpanStartOption
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
	p.kind = trace.WithSpanKind(trace.SpanKindClient)
	m := p.cfg.Meter()
	p.calls = otelobs.NewInstruments(m, "client", "Duration of calls made, all attempts included.")
	otelobs.ObserveCounter(m, "courier.client.attempts", "{attempt}", "Requests sent on connections (attempts of calls).", &p.attempts)
	otelobs.ObserveCounter(m, "courier.client.retries", "{attempt}", "Attempts after the first of a Failover or Failtry call.", &p.retries)
	otelobs.ObserveCounter(m, "courier.client.hedges", "{attempt}", "Extra concurrent attempts of a Failbackup call.", &p.hedges)
	p.breakers = otelobs.Must(m.Int64Counter("courier.client.breaker.state_changes", metric.WithUnit("{change}"),
		metric.WithDescription("Circuit breaker changes of a server: opened, or letting calls through again (closed).")))
	if !p.cfg.NoMetrics {
		p.xs.register(m)
	}
}

// BreakerStateChanged counts a change of the circuit breaker of server
// (client.BreakerObserverPlugin), with the attributes courier.service,
// courier.server and courier.breaker.state ("open" or "closed").
func (p *OpenTelemetryPlugin) BreakerStateChanged(servicePath, server string, open bool) {
	if p.cfg.NoMetrics {
		return
	}
	state := "closed"
	if open {
		state = "open"
	}
	p.breakers.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String(rpcobs.KeyService, servicePath), attribute.String(rpcobs.KeyServer, server),
		attribute.String(rpcobs.KeyBreakerState, state)))
}

// operKey is the shape of an operation's span: method, kind, fail mode.
type operKey struct {
	m    *otelobs.Method
	kind client.CallKind
	fm   client.FailMode
}

// operAttrs returns the attributes of the span of an operation of m:
// the method's, courier.fail_mode and, for Oneshot, courier.oneway.
func (p *OpenTelemetryPlugin) operAttrs(m *otelobs.Method, info *client.CallInfo) *otelobs.Attrs {
	k := operKey{m, info.Kind, info.FailMode}
	if a, ok := p.opers.Load(k); ok {
		return a.(*otelobs.Attrs)
	}
	kvs := append(slices.Clip(m.Attrs), attribute.String(rpcobs.KeyFailMode, failModeName(info)))
	if info.Kind == client.KindOneway {
		kvs = append(kvs, onewayAttr)
	}
	a := otelobs.NewAttrs(kvs)
	if p.nopers.Load() < otelobs.MaxCached {
		if _, loaded := p.opers.LoadOrStore(k, a); !loaded {
			p.nopers.Add(1)
		}
	}
	return a
}

// callKey and attemptKey find the states in a ctx.
type (
	callKey    struct{}
	attemptKey struct{}
)

// callState is one XClient operation, and its ctx (one allocation instead
// of a state and a context.WithValue). A Failfast call has one span, not a
// call span and an attempt span: its single attempt starts it (or EndCall
// when no attempt was made), so single is set and span is written once,
// by whichever comes first; a second attempt (a refusal that provably did
// not run is retried once) gets a child span of its own. It answers
// otelobs.SpanKey with its span once started (cur), so that the span
// costs no context.WithValue.
type callState struct {
	context.Context
	start    time.Time
	method   *otelobs.Method
	info     client.CallInfo
	single   bool
	span     trace.Span
	cur      trace.Span // what SpanKey finds (nil: whatever Context has)
	attempts atomic.Int32
	opts     [3]trace.SpanStartOption
}

// Value returns st for callKey, its span for otelobs.SpanKey, else what
// the parent ctx has.
func (st *callState) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return st
	}
	if st.cur != nil && key == otelobs.SpanKey {
		return st.cur
	}
	return st.Context.Value(key)
}

// attemptState is one request on a connection, and its ctx; like
// callState it answers otelobs.SpanKey with its span. tp holds the
// traceparent the request metadata refers to: written once, before the
// metadata is sent.
type attemptState struct {
	context.Context
	start   time.Time
	method  *otelobs.Method
	span    trace.Span // the span EndAttempt ends (nil: none, or the call's)
	cur     trace.Span // what SpanKey finds (nil: whatever Context has)
	call    *callState // nil: a plain Client call
	reqSize int
	carrier otelobs.Carrier
	opts    [3]trace.SpanStartOption
	tp      [otelobs.TraceparentLen]byte
}

// Value returns st for attemptKey, its span for otelobs.SpanKey, else
// what the parent ctx has.
func (st *attemptState) Value(key any) any {
	if _, ok := key.(attemptKey); ok {
		return st
	}
	if st.cur != nil && key == otelobs.SpanKey {
		return st.cur
	}
	return st.Context.Value(key)
}

// StartCall starts the operation's span (a Failfast call's starts with its
// attempt).
func (p *OpenTelemetryPlugin) StartCall(ctx context.Context, info *client.CallInfo) context.Context {
	st := &callState{Context: ctx, start: time.Now(), info: *info, method: p.methods.Get(info.ServicePath, info.ServiceMethod)}
	st.single = info.Kind == client.KindCall && info.FailMode == client.Failfast
	if !p.cfg.NoMetrics && !transfer(info) {
		p.calls.Active.Add(1)
	}
	if p.cfg.NoTraces || st.single {
		return st
	}
	st.opts[0] = p.kind
	sctx, span := p.cfg.StartSpan(st, st.method.Name, st.opts[:1], p.operAttrs(st.method, info))
	st.span = span
	if otelobs.SpanKey != nil {
		st.cur = span
	}
	return otelobs.Started(st, sctx)
}

// transfer reports a file transfer or stream: a span, and no call metrics
// (its Call inside is measured on its own).
func transfer(info *client.CallInfo) bool {
	return info.Kind == client.KindSendFile || info.Kind == client.KindDownloadFile || info.Kind == client.KindStream
}

// EndCall records the operation's outcome and ends its span.
func (p *OpenTelemetryPlugin) EndCall(ctx context.Context, info *client.CallInfo, err error) {
	st, _ := ctx.Value(callKey{}).(*callState)
	if st == nil {
		return
	}
	code := share.CodeOf(err)
	out := st.method.Outcome(code)
	if !p.cfg.NoMetrics && !transfer(info) {
		p.calls.Active.Add(-1)
		p.calls.Duration.Record(st, time.Since(st.start).Seconds(), out.Record...)
	}
	if st.single && st.span == nil && !p.cfg.NoTraces { // failed before any attempt
		st.opts[0], st.opts[1] = p.kind, trace.WithTimestamp(st.start)
		_, st.span = p.cfg.StartSpan(st.Context, st.method.Name, st.opts[:2], p.operAttrs(st.method, info))
	}
	otelobs.EndSpan(st.span, out, err)
}

// StartAttempt starts the attempt's span, a child of the operation's (or
// the span of a Failfast call), and writes its trace context into the
// request metadata.
func (p *OpenTelemetryPlugin) StartAttempt(ctx context.Context, req *protocol.Message, remoteAddr string) context.Context {
	st := &attemptState{Context: ctx, reqSize: len(req.Payload)}
	st.call, _ = ctx.Value(callKey{}).(*callState)
	n := int32(1)
	switch {
	case st.call == nil: // a plain Client call: the attempt is the call
		st.start = time.Now()
		st.method = p.methods.Get(req.ServicePath, req.ServiceMethod)
		if !p.cfg.NoMetrics {
			p.calls.Active.Add(1)
		}
	case st.call.info.ServiceMethod == req.ServiceMethod && st.call.info.ServicePath == req.ServicePath:
		n = st.call.attempts.Add(1)
		st.method = st.call.method
	default:
		n = st.call.attempts.Add(1)
		st.method = p.methods.Get(req.ServicePath, req.ServiceMethod)
	}
	if !p.cfg.NoMetrics {
		p.countAttempt(st.call, n)
	}
	if p.cfg.NoTraces {
		return st
	}
	sctx, span := p.startAttemptSpan(st, req, remoteAddr, n)
	if otelobs.SpanKey != nil {
		st.cur = span
	}
	actx := otelobs.Started(st, sctx)
	st.carrier.Reset(req.Metadata)
	p.cfg.Inject(actx, span.SpanContext(), &st.carrier, &st.tp)
	req.Metadata = st.carrier.Map()
	return actx
}

// countAttempt counts an attempt, and a retry or a hedge when it is not
// the first of its call.
func (p *OpenTelemetryPlugin) countAttempt(call *callState, n int32) {
	p.attempts.Add(1)
	if n > 1 && call != nil {
		if call.info.FailMode == client.Failbackup {
			p.hedges.Add(1)
		} else if call.info.Kind == client.KindCall {
			p.retries.Add(1)
		}
	}
}

// startAttemptSpan starts the span of attempt n under st and returns
// Tracer.Start's ctx and the span.
func (p *OpenTelemetryPlugin) startAttemptSpan(st *attemptState, req *protocol.Message, remoteAddr string, n int32) (context.Context, trace.Span) {
	single := st.call != nil && st.call.single
	st.opts[0] = p.kind
	if n == 1 { // the common case: all attributes cached
		ctx, span := p.cfg.StartSpan(st, st.method.Name, st.opts[:1], p.firstAttrs(firstKey{st.method, remoteAddr, single, req.IsOneway()}))
		if single { // the call's one span
			st.call.span = span
		} else {
			st.span = span
		}
		return ctx, span
	}
	parent := context.Context(st)
	if single && st.call.span != nil { // a second attempt: a child of the first
		parent = trace.ContextWithSpan(st, st.call.span)
	}
	kvs := append(slices.Clip(st.method.Attrs), otelobs.AddrAttrs(remoteAddr, rpcobs.KeyServerAddress, rpcobs.KeyServerPort)...)
	kvs = append(kvs, attribute.Int(rpcobs.KeyAttempt, int(n)))
	if req.IsOneway() {
		kvs = append(kvs, onewayAttr)
	}
	ctx, span := p.cfg.StartSpan(parent, st.method.Name, st.opts[:1], otelobs.NewAttrs(kvs))
	st.span = span
	return ctx, span
}

// firstKey is the shape of a first attempt's span: method, server, whether
// it is a Failfast call's one span, whether it is oneway.
type firstKey struct {
	m              *otelobs.Method
	addr           string
	single, oneway bool
}

// firstAttrs returns all the attributes of a first attempt's span of
// shape k.
func (p *OpenTelemetryPlugin) firstAttrs(k firstKey) *otelobs.Attrs {
	if v, ok := p.firsts.Load(k); ok {
		return v.(*otelobs.Attrs)
	}
	k.addr = strings.Clone(k.addr) // the attributes keep parts of it
	attrs := append(slices.Clip(k.m.Attrs), otelobs.AddrAttrs(k.addr, rpcobs.KeyServerAddress, rpcobs.KeyServerPort)...)
	if k.single {
		attrs = append(attrs, attribute.String(rpcobs.KeyFailMode, "failfast"))
	} else {
		attrs = append(attrs, attribute.Int(rpcobs.KeyAttempt, 1))
	}
	if k.oneway {
		attrs = append(attrs, onewayAttr)
	}
	a := otelobs.NewAttrs(attrs)
	if p.nfirsts.Load() < otelobs.MaxCached {
		if _, loaded := p.firsts.LoadOrStore(k, a); !loaded {
			p.nfirsts.Add(1)
		}
	}
	return a
}

// onewayAttr marks a oneway request's span.
var onewayAttr = attribute.Bool(rpcobs.KeyOneway, true)

// EndAttempt records the attempt's outcome and ends its span.
func (p *OpenTelemetryPlugin) EndAttempt(ctx context.Context, res *protocol.Message, err error) {
	st, _ := ctx.Value(attemptKey{}).(*attemptState)
	if st == nil {
		return
	}
	out := st.method.Outcome(share.CodeOf(err))
	if !p.cfg.NoMetrics {
		resSize := 0
		if res != nil {
			resSize = len(res.Payload)
		}
		p.calls.Sizes(st, out, st.reqSize, resSize, res != nil)
		if st.call == nil { // a plain Client call: the attempt is the call
			p.calls.Active.Add(-1)
			p.calls.Duration.Record(st, time.Since(st.start).Seconds(), out.Record...)
		}
	}
	otelobs.EndSpan(st.span, out, err)
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
	_ client.BreakerObserverPlugin = (*OpenTelemetryPlugin)(nil)
)
