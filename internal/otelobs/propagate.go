package otelobs

import (
	"context"
	"reflect"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// W3C Trace Context and Baggage header names (metadata keys).
const (
	keyTraceparent = "traceparent"
	keyTracestate  = "tracestate"
	keyBaggage     = "baggage"
)

// TraceparentLen is the length of a version-00 traceparent.
const TraceparentLen = 55

// w3cKind tells which of the W3C propagators a propagator is made of, when
// it is made of nothing else: then the plugins inject and extract with
// their own code, which allocates nothing for the trace context (the
// propagators' own build a string and a context per call).
type w3cKind struct {
	known        bool // only TraceContext and Baggage, each at most once
	traceContext bool
	baggage      bool
}

// classify tells what p is made of: propagation.TraceContext,
// propagation.Baggage, or a propagation.NewCompositeTextMapPropagator of
// them. Anything else (the global propagator's delegate included) is not
// known, and goes through p's own Inject and Extract.
func classify(p propagation.TextMapPropagator) w3cKind {
	var k w3cKind
	add := func(q propagation.TextMapPropagator) bool {
		switch q.(type) {
		case propagation.TraceContext:
			if k.traceContext {
				return false
			}
			k.traceContext = true
		case propagation.Baggage:
			if k.baggage {
				return false
			}
			k.baggage = true
		default:
			return false
		}
		return true
	}
	v := reflect.ValueOf(p)
	if v.Kind() == reflect.Slice && v.Type().PkgPath() == "go.opentelemetry.io/otel/propagation" {
		for i := range v.Len() {
			q, ok := v.Index(i).Interface().(propagation.TextMapPropagator)
			if !ok || !add(q) {
				return w3cKind{}
			}
		}
		k.known = true
		return k
	}
	if p != nil && add(p) {
		k.known = true
	}
	return k
}

// Inject writes the trace context of sc (the span just started) and the
// baggage of ctx into car. With the W3C propagators (the default) the
// traceparent is formatted into buf, which the metadata then refers to:
// buf must be part of the caller's per-call state and never be written
// again. With another propagator, ctx must carry the span (its
// SpanContext is sc) and the propagator's Inject runs.
func (c *Config) Inject(ctx context.Context, sc trace.SpanContext, car *Carrier, buf *[TraceparentLen]byte) {
	if !c.w3c.known {
		c.Propagators.Inject(ctx, car)
		return
	}
	if c.w3c.traceContext && sc.IsValid() {
		if ts := sc.TraceState().String(); ts != "" {
			car.Set(keyTracestate, ts)
		}
		FormatTraceparent(buf, sc)
		car.Set(keyTraceparent, unsafe.String(&buf[0], len(buf)))
	}
	if c.w3c.baggage {
		if b := baggage.FromContext(ctx); b.Len() > 0 {
			car.Set(keyBaggage, b.String())
		}
	}
}

// Extract reads the caller's trace context from request metadata md: it
// returns ctx (with md's baggage, if any) and the remote span context
// (invalid: none, or carried by ctx when the propagator is not a W3C
// one, whose Extract then ran).
func (c *Config) Extract(ctx context.Context, md map[string]string) (context.Context, trace.SpanContext) {
	if !c.w3c.known {
		return c.Propagators.Extract(ctx, propagation.MapCarrier(md)), trace.SpanContext{}
	}
	if len(md) == 0 {
		return ctx, trace.SpanContext{}
	}
	var sc trace.SpanContext
	if c.w3c.traceContext {
		sc = ParseTraceContext(md[keyTraceparent], md[keyTracestate])
	}
	if c.w3c.baggage && md[keyBaggage] != "" {
		ctx = propagation.Baggage{}.Extract(ctx, propagation.MapCarrier(md))
	}
	return ctx, sc
}

const hexDigits = "0123456789abcdef"

// FormatTraceparent writes the version-00 traceparent of sc into buf
// (the sampled and random flags only, as propagation.TraceContext does).
func FormatTraceparent(buf *[TraceparentLen]byte, sc trace.SpanContext) {
	tid, sid := sc.TraceID(), sc.SpanID()
	flags := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	b := buf[:0]
	b = append(b, '0', '0', '-')
	for _, x := range tid {
		b = append(b, hexDigits[x>>4], hexDigits[x&15])
	}
	b = append(b, '-')
	for _, x := range sid {
		b = append(b, hexDigits[x>>4], hexDigits[x&15])
	}
	_ = append(b, '-', hexDigits[flags>>4], hexDigits[flags&15])
}

// ParseTraceContext returns the remote span context of a traceparent and
// tracestate, or an invalid one when traceparent is not valid, exactly
// as propagation.TraceContext's Extract reads them (versions 00 to fe,
// lower-case hex, version 00 without extra fields or reserved flags; a
// tracestate that does not parse is dropped), without allocating unless
// tracestate is set.
func ParseTraceContext(traceparent, tracestate string) trace.SpanContext {
	h := traceparent
	if h == "" {
		return trace.SpanContext{}
	}
	var ver [1]byte
	if !cutHex(ver[:], &h) || ver[0] > 254 {
		return trace.SpanContext{}
	}
	var scc trace.SpanContextConfig
	var flags [1]byte
	if !cutHex(scc.TraceID[:], &h) || !cutHex(scc.SpanID[:], &h) || !cutHex(flags[:], &h) {
		return trace.SpanContext{}
	}
	if ver[0] == 0 && (h != "" || flags[0] > 3) {
		return trace.SpanContext{}
	}
	scc.TraceFlags = trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom)
	if tracestate != "" {
		scc.TraceState, _ = trace.ParseTraceState(tracestate)
	}
	scc.Remote = true
	sc := trace.NewSpanContext(scc)
	if !sc.IsValid() {
		return trace.SpanContext{}
	}
	return sc
}

// cutHex decodes the part of *h before the first '-' (or all of it) into
// dst, which it must fill exactly with lower-case hex, and leaves the rest
// after the '-' in *h.
func cutHex(dst []byte, h *string) bool {
	s := *h
	part, rest := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			part, rest = s[:i], s[i+1:]
			break
		}
	}
	*h = rest
	if len(part) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := unhex(part[2*i])
		lo, ok2 := unhex(part[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// ParentSpan is a remote parent: the span context a caller sent, as a
// trace.Span a per-call state can hold and answer for SpanKey, so that the
// tracer finds the parent without a context.WithValue. It records nothing.
type ParentSpan struct {
	embedded.Span
	SC trace.SpanContext
}

// SpanContext returns the remote span context.
func (p *ParentSpan) SpanContext() trace.SpanContext { return p.SC }

// IsRecording returns false.
func (*ParentSpan) IsRecording() bool { return false }

// SetStatus does nothing.
func (*ParentSpan) SetStatus(codes.Code, string) {}

// SetAttributes does nothing.
func (*ParentSpan) SetAttributes(...attribute.KeyValue) {}

// End does nothing.
func (*ParentSpan) End(...trace.SpanEndOption) {}

// RecordError does nothing.
func (*ParentSpan) RecordError(error, ...trace.EventOption) {}

// AddEvent does nothing.
func (*ParentSpan) AddEvent(string, ...trace.EventOption) {}

// AddLink does nothing.
func (*ParentSpan) AddLink(trace.Link) {}

// SetName does nothing.
func (*ParentSpan) SetName(string) {}

// TracerProvider returns a provider that does nothing.
func (*ParentSpan) TracerProvider() trace.TracerProvider { return noop.NewTracerProvider() }

// SpanKey is the key under which the OpenTelemetry API keeps the current
// span in a context (trace.ContextWithSpan), found once at start-up by
// watching what trace.SpanFromContext asks for; nil if it could not be
// found, when the plugins fall back to the contexts Tracer.Start returns.
// The plugins' per-call states answer it themselves, so that starting a
// span costs no context.WithValue.
var SpanKey = findSpanKey()

// keyProbe records the key of the Value call it gets.
type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}

func findSpanKey() any {
	probe := &keyProbe{Context: context.Background()}
	_ = trace.SpanFromContext(probe)
	if probe.key == nil || !reflect.TypeOf(probe.key).Comparable() {
		return nil
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})
	s, ok := trace.ContextWithSpanContext(context.Background(), sc).Value(probe.key).(trace.Span)
	if !ok || !s.SpanContext().Equal(sc) {
		return nil
	}
	return probe.key
}

var _ trace.Span = (*ParentSpan)(nil)
