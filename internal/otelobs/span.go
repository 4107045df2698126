package otelobs

import (
	"context"
	rtrace "runtime/trace"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Attrs are the attributes a span gets when it starts, and the start
// option that carries them (for Config.StartAttrs), built once and cached
// by the plugins. Read-only once made.
type Attrs struct {
	KVs []attribute.KeyValue
	Opt trace.SpanStartOption
}

// NewAttrs returns the Attrs of kvs (which it keeps).
func NewAttrs(kvs []attribute.KeyValue) *Attrs {
	return &Attrs{KVs: kvs, Opt: trace.WithAttributes(kvs...)}
}

// StartSpan starts a span named name, a child of the span parent carries,
// with the options opts (the caller's array: one more is appended in place
// when it has room) and the attributes a (nil: none). By default the
// attributes are set right after the start, only when the span records:
// an unsampled span costs no attribute work, and a sampled one one copy of
// them instead of two. With StartAttrs they are a start option instead.
func (c *Config) StartSpan(parent context.Context, name string, opts []trace.SpanStartOption, a *Attrs) (context.Context, trace.Span) {
	if c.StartAttrs && a != nil {
		opts = append(opts, a.Opt)
	}
	ctx, span := c.Tracer.Start(parent, name, opts...)
	if !c.StartAttrs && a != nil && span.IsRecording() {
		span.SetAttributes(a.KVs...)
	}
	return ctx, span
}

// Started returns the ctx of a call after StartSpan(st, ...) returned
// sctx: st itself, a per-call state whose Value answers SpanKey with the
// span (no context.WithValue per span), unless SpanKey is unknown or
// runtime/trace is on (the SDK's ctx then carries a trace task): sctx.
func Started(st, sctx context.Context) context.Context {
	if SpanKey == nil || rtrace.IsEnabled() {
		return sctx
	}
	return st
}
