package otelobs

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// sdkExtract is what propagation.TraceContext reads from the headers.
func sdkExtract(traceparent, tracestate string) trace.SpanContext {
	md := propagation.MapCarrier{}
	if traceparent != "" {
		md["traceparent"] = traceparent
	}
	if tracestate != "" {
		md["tracestate"] = tracestate
	}
	return trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), md))
}

var traceparents = []string{
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03",
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09",  // reserved flag bits
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-", // trailing dash
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
	"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09-extra", // a later version
	"fe-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", // upper case
	"00-00000000000000000000000000000000-b7ad6b7169203331-01", // zero trace id
	"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // zero span id
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
	"0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	"00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
	"", "-", "---", "00",
}

// ParseTraceContext reads what propagation.TraceContext reads.
func TestParseTraceContextMatchesSDK(t *testing.T) {
	for _, tp := range traceparents {
		for _, ts := range []string{"", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", "not a tracestate"} {
			got, want := ParseTraceContext(tp, ts), sdkExtract(tp, ts)
			if !got.Equal(want) {
				t.Errorf("ParseTraceContext(%q, %q) = %v, SDK %v", tp, ts, got, want)
			}
		}
	}
}

// FuzzParseTraceContext: for any header, the same span context as the
// SDK's propagator (and no panic).
func FuzzParseTraceContext(f *testing.F) {
	for _, tp := range traceparents {
		f.Add(tp, "")
	}
	f.Add(traceparents[0], "a=1,b=2")
	f.Fuzz(func(t *testing.T, tp, ts string) {
		got, want := ParseTraceContext(tp, ts), sdkExtract(tp, ts)
		if !got.Equal(want) {
			t.Fatalf("ParseTraceContext(%q, %q) = %v, SDK %v", tp, ts, got, want)
		}
	})
}

// Inject writes what propagation.TraceContext and Baggage write; Extract
// reads it back.
func TestInjectExtractMatchSDK(t *testing.T) {
	ts, err := trace.ParseTraceState("rojo=00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.Parse("user=alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled, trace.FlagsSampled | trace.FlagsRandom | 0x80} {
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{0x0a, 0xf7, 0x65, 0xff}, SpanID: trace.SpanID{0xb7, 0xad, 0x01}, TraceFlags: flags, TraceState: ts,
		})
		ctx := baggage.ContextWithBaggage(trace.ContextWithSpanContext(context.Background(), sc), bag)
		want := propagation.MapCarrier{}
		propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}).Inject(ctx, want)

		c := Config{}
		c.Resolve()
		var car Carrier
		var buf [TraceparentLen]byte
		c.Inject(ctx, sc, &car, &buf)
		got := car.Map()
		if len(got) != len(want) {
			t.Fatalf("flags %v: injected %v, SDK %v", flags, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("flags %v: %s = %q, SDK %q", flags, k, got[k], v)
			}
		}
		ectx, esc := c.Extract(context.Background(), got)
		if wsc := sdkExtract(got["traceparent"], got["tracestate"]); !esc.Equal(wsc) || !esc.IsRemote() {
			t.Errorf("flags %v: extracted %v, SDK %v", flags, esc, wsc)
		}
		if v := baggage.FromContext(ectx).Member("user").Value(); v != "alice" {
			t.Errorf("baggage user = %q after Extract", v)
		}
	}
}

// classify knows TraceContext, Baggage and composites of them, nothing
// else; an unknown propagator's own Inject and Extract run.
func TestClassify(t *testing.T) {
	tc, bg := propagation.TraceContext{}, propagation.Baggage{}
	comp := propagation.NewCompositeTextMapPropagator
	for _, c := range []struct {
		name string
		p    propagation.TextMapPropagator
		want w3cKind
	}{
		{"trace context", tc, w3cKind{known: true, traceContext: true}},
		{"baggage", bg, w3cKind{known: true, baggage: true}},
		{"composite", comp(tc, bg), w3cKind{true, true, true}},
		{"reversed", comp(bg, tc), w3cKind{true, true, true}},
		{"empty composite", comp(), w3cKind{known: true}},
		{"twice", comp(tc, tc), w3cKind{}},
		{"other member", comp(tc, upper{}), w3cKind{}},
		{"other", upper{}, w3cKind{}},
		{"nested", comp(comp(tc)), w3cKind{}},
	} {
		if got := classify(c.p); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	// An unknown propagator writes and reads its own header.
	c := Config{Propagators: upper{}}
	c.Resolve()
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	var car Carrier
	var buf [TraceparentLen]byte
	c.Inject(trace.ContextWithSpanContext(context.Background(), sc), sc, &car, &buf)
	if _, ok := car.Map()["traceparent"]; ok || car.Map()["x-upper"] == "" {
		t.Fatalf("unknown propagator: injected %v", car.Map())
	}
	ctx, esc := c.Extract(context.Background(), car.Map())
	if esc.IsValid() || trace.SpanContextFromContext(ctx).TraceID() != sc.TraceID() {
		t.Fatalf("unknown propagator: Extract gave %v and a ctx with %v", esc, trace.SpanContextFromContext(ctx))
	}
}

// upper is a propagator of its own: the traceparent under "x-upper".
type upper struct{}

func (upper) Inject(ctx context.Context, c propagation.TextMapCarrier) {
	m := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, m)
	c.Set("x-upper", m["traceparent"])
}

func (upper) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": c.Get("x-upper")})
}

func (upper) Fields() []string { return []string{"x-upper"} }

// SpanKey is found, and a ctx answering it is the ctx of that span.
func TestSpanKey(t *testing.T) {
	if SpanKey == nil {
		t.Fatal("the OpenTelemetry API's span key was not found")
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{8}, Remote: true})
	ctx := &answering{Context: context.Background(), span: &ParentSpan{SC: sc}}
	if got := trace.SpanContextFromContext(ctx); !got.Equal(sc) {
		t.Fatalf("SpanContextFromContext = %v, want %v", got, sc)
	}
}

type answering struct {
	context.Context
	span trace.Span
}

func (a *answering) Value(key any) any {
	if key == SpanKey {
		return a.span
	}
	return a.Context.Value(key)
}

// Parsing and formatting allocate nothing.
func TestTraceContextAllocs(t *testing.T) {
	tp := traceparents[0]
	sc := ParseTraceContext(tp, "")
	var buf [TraceparentLen]byte
	n := testing.AllocsPerRun(100, func() {
		sc = ParseTraceContext(tp, "")
		FormatTraceparent(&buf, sc)
	})
	if n != 0 || string(buf[:]) != tp {
		t.Fatalf("%v allocations, formatted %q", n, buf[:])
	}
}
