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

	calls    *otelobs.Instruments
	attempts atomic.Int64 // observed by courier.client.attempts
	retries  atomic.Int64 // observed by courier.client.retries
	hedges   atomic.Int64 // observed by courier.client.hedges
	breakers metric.Int64Counter
	xs       instrumented // the XClients whose Stats() are exported (Instrument)

	methods  otelobs.Methods
	firsts   sync.Map // firstKey -> trace.SpanStartOption
	nfirsts  atomic.Int32
	kind     trace.SpanStartOption
	callOpts [numKinds][numFailModes]trace.SpanStartOption // courier.fail_mode (+ courier.oneway)
	nth      [8]trace.SpanStartOption                      // courier.attempt = index+1
}

const (
	numKinds     = int(client.KindStream) + 1
	numFailModes = int(client.Failbackup) + 1
)

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
	for k := range numKinds {
		for f := range numFailModes {
			info := client.CallInfo{Kind: client.CallKind(k), FailMode: client.FailMode(f)}
			attrs := []attribute.KeyValue{attribute.String(rpcobs.KeyFailMode, failModeName(&info))}
			if info.Kind == client.KindOneway {
				attrs = append(attrs, attribute.Bool(rpcobs.KeyOneway, true))
			}
			p.callOpts[k][f] = trace.WithAttributes(attrs...)
		}
	}
	for i := range p.nth {
		p.nth[i] = attemptOpt(i + 1)
	}
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

func attemptOpt(n int) trace.SpanStartOption {
	return trace.WithAttributes(attribute.Int(rpcobs.KeyAttempt, n))
}

// callOpt returns the span option of an operation's kind and fail mode.
func (p *OpenTelemetryPlugin) callOpt(info *client.CallInfo) trace.SpanStartOption {
	if int(info.Kind) < numKinds && int(info.FailMode) < numFailModes {
		return p.callOpts[info.Kind][info.FailMode]
	}
	return trace.WithAttributes(attribute.String(rpcobs.KeyFailMode, failModeName(info)))
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
// not run is retried once) gets a child span of its own.
type callState struct {
	context.Context
	start    time.Time
	method   *otelobs.Method
	info     client.CallInfo
	single   bool
	span     trace.Span
	attempts atomic.Int32
	opts     [4]trace.SpanStartOption
}

// Value returns st for callKey, else what the parent ctx has.
func (st *callState) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return st
	}
	return st.Context.Value(key)
}

// attemptState is one request on a connection, and its ctx.
type attemptState struct {
	context.Context
	start   time.Time
	method  *otelobs.Method
	span    trace.Span
	call    *callState // nil: a plain Client call
	reqSize int
	carrier otelobs.Carrier
	opts    [4]trace.SpanStartOption
}

// Value returns st for attemptKey, else what the parent ctx has.
func (st *attemptState) Value(key any) any {
	if _, ok := key.(attemptKey); ok {
		return st
	}
	return st.Context.Value(key)
}

// StartCall starts the operation's span (a Failfast call's starts with its
// attempt).
func (p *OpenTelemetryPlugin) StartCall(ctx context.Context, info *client.CallInfo) context.Context {
	st := &callState{start: time.Now(), info: *info, method: p.methods.Get(info.ServicePath, info.ServiceMethod)}
	st.single = info.Kind == client.KindCall && info.FailMode == client.Failfast
	if !p.cfg.NoMetrics && !transfer(info) {
		p.calls.Active.Add(1)
	}
	if !p.cfg.NoTraces && !st.single {
		st.opts[0], st.opts[1], st.opts[2] = p.kind, trace.WithAttributes(st.method.Attrs...), p.callOpt(info)
		ctx, st.span = p.cfg.Tracer.Start(ctx, st.method.Name, st.opts[:3]...)
	}
	st.Context = ctx
	return st
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
		st.opts[0], st.opts[1], st.opts[2], st.opts[3] = p.kind, trace.WithAttributes(st.method.Attrs...), p.callOpt(info), trace.WithTimestamp(st.start)
		_, st.span = p.cfg.Tracer.Start(st.Context, st.method.Name, st.opts[:4]...)
	}
	otelobs.EndSpan(st.span, out, err)
}

// StartAttempt starts the attempt's span, a child of the operation's (or
// the span of a Failfast call), and writes its trace context into the
// request metadata.
func (p *OpenTelemetryPlugin) StartAttempt(ctx context.Context, req *protocol.Message, remoteAddr string) context.Context {
	st := &attemptState{reqSize: len(req.Payload)}
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
	if !p.cfg.NoTraces {
		ctx = p.startAttemptSpan(ctx, st, req, remoteAddr, n)
		st.carrier.Reset(req.Metadata)
		p.cfg.Propagators.Inject(ctx, &st.carrier)
		req.Metadata = st.carrier.Map()
	}
	st.Context = ctx
	return st
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

// startAttemptSpan starts the span of attempt n and returns its ctx.
func (p *OpenTelemetryPlugin) startAttemptSpan(ctx context.Context, st *attemptState, req *protocol.Message, remoteAddr string, n int32) context.Context {
	single := st.call != nil && st.call.single
	if n == 1 { // the common case: all attributes in one cached option
		st.opts[0], st.opts[1] = p.kind, p.firstOpt(firstKey{st.method, remoteAddr, single, req.IsOneway()})
		ctx, span := p.cfg.Tracer.Start(ctx, st.method.Name, st.opts[:2]...)
		if single { // the call's one span
			st.call.span = span
		} else {
			st.span = span
		}
		return ctx
	}
	if single && st.call.span != nil { // a second attempt: a child of the first
		ctx = trace.ContextWithSpan(ctx, st.call.span)
	}
	opts := append(st.opts[:0], p.kind, trace.WithAttributes(st.method.Attrs...),
		trace.WithAttributes(otelobs.AddrAttrs(remoteAddr, rpcobs.KeyServerAddress, rpcobs.KeyServerPort)...))
	if int(n) <= len(p.nth) {
		opts = append(opts, p.nth[n-1])
	} else {
		opts = append(opts, attemptOpt(int(n)))
	}
	if req.IsOneway() {
		opts = append(opts, onewayOpt) // beyond the array: rare
	}
	ctx, st.span = p.cfg.Tracer.Start(ctx, st.method.Name, opts...)
	return ctx
}

// firstKey is the shape of a first attempt's span: method, server, whether
// it is a Failfast call's one span, whether it is oneway.
type firstKey struct {
	m              *otelobs.Method
	addr           string
	single, oneway bool
}

// firstOpt returns the option with all the attributes of a first attempt's
// span of shape k (one option, so that the SDK copies them once).
func (p *OpenTelemetryPlugin) firstOpt(k firstKey) trace.SpanStartOption {
	if v, ok := p.firsts.Load(k); ok {
		return v.(trace.SpanStartOption)
	}
	k.addr = strings.Clone(k.addr) // the attributes keep parts of it
	attrs := append(slices.Clip(k.m.Attrs), otelobs.AddrAttrs(k.addr, rpcobs.KeyServerAddress, rpcobs.KeyServerPort)...)
	if k.single {
		attrs = append(attrs, attribute.String(rpcobs.KeyFailMode, "failfast"))
	} else {
		attrs = append(attrs, attribute.Int(rpcobs.KeyAttempt, 1))
	}
	if k.oneway {
		attrs = append(attrs, attribute.Bool(rpcobs.KeyOneway, true))
	}
	opt := trace.WithAttributes(attrs...)
	if p.nfirsts.Load() < otelobs.MaxCached {
		if _, loaded := p.firsts.LoadOrStore(k, opt); !loaded {
			p.nfirsts.Add(1)
		}
	}
	return opt
}

// onewayOpt marks a oneway request's span.
var onewayOpt = trace.WithAttributes(attribute.Bool(rpcobs.KeyOneway, true))

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
