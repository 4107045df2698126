package otel_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	clientotel "github.com/courier-rpc/courier/clientplugin/otel"
	"github.com/courier-rpc/courier/internal/otelobs"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	"github.com/courier-rpc/courier/share"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Seen is a service that reports the traceparent it got and the span
// context of its ctx.
type Seen struct {
	mu          sync.Mutex
	traceparent string
	sc          trace.SpanContext
}

// Mul records what it saw and multiplies.
func (s *Seen) Mul(ctx context.Context, a *testutils.Args, r *testutils.Reply) error {
	md, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	s.mu.Lock()
	s.traceparent, s.sc = md["traceparent"], trace.SpanContextFromContext(ctx)
	s.mu.Unlock()
	r.C = a.A * a.B
	return nil
}

func (s *Seen) get() (string, trace.SpanContext) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traceparent, s.sc
}

// tracerOf returns a provider with sampler whose spans go to a recorder.
func tracerOf(t *testing.T, sampler sdktrace.Sampler) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, sr
}

// An unsampled call still sends its trace context, with flags 00, so that
// a ParentBased sampler downstream agrees (records nothing, yet the trace
// id goes on); a sampled parent in the caller's ctx makes the whole chain
// sampled. Every fail mode shape: Failtry (call + attempt span) and
// Failfast (one span).
func TestTraceUnsampledPropagates(t *testing.T) {
	for _, mode := range []client.FailMode{client.Failtry, client.Failfast} {
		t.Run(mode.String(), func(t *testing.T) {
			ctp, csr := tracerOf(t, sdktrace.ParentBased(sdktrace.NeverSample()))
			stp, ssr := tracerOf(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
			s := server.NewServer()
			s.Plugins.Add(serverotel.New(serverotel.WithTracerProvider(stp)))
			seen := &Seen{}
			addr := serve(t, s, map[string]any{"Arith": seen})
			xc := xclient(t, "Arith", mode, client.DefaultOption, clientotel.New(clientotel.WithTracerProvider(ctp)), addr)

			var r testutils.Reply
			if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: 2, B: 3}, &r); err != nil || r.C != 6 {
				t.Fatalf("call: %v %d", err, r.C)
			}
			tp, sc := seen.get()
			if !strings.HasSuffix(tp, "-00") || len(tp) != 55 {
				t.Fatalf("unsampled call sent traceparent %q, want flags 00", tp)
			}
			if !sc.IsValid() || sc.IsSampled() || !strings.Contains(tp, sc.TraceID().String()) {
				t.Fatalf("server ctx span context %v, traceparent %q: want the caller's trace, unsampled", sc, tp)
			}
			if n, m := len(csr.Ended()), len(ssr.Ended()); n != 0 || m != 0 {
				t.Fatalf("%d client and %d server spans recorded, want none", n, m)
			}

			parent := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{0xab, 1}, SpanID: trace.SpanID{0xcd, 2}, TraceFlags: trace.FlagsSampled, Remote: true,
			})
			ctx := trace.ContextWithRemoteSpanContext(t.Context(), parent)
			if err := xc.Call(ctx, "Mul", &testutils.Args{A: 2, B: 3}, &r); err != nil {
				t.Fatal(err)
			}
			tp, sc = seen.get()
			if !strings.HasSuffix(tp, "-01") || sc.TraceID() != parent.TraceID() || !sc.IsSampled() {
				t.Fatalf("sampled parent: traceparent %q, server span context %v", tp, sc)
			}
			cs, ss := csr.Ended(), ssr.Ended()
			if len(ss) != 1 || len(cs) == 0 || cs[len(cs)-1].Parent().SpanID() != parent.SpanID() {
				t.Fatalf("sampled parent: %d client spans (last's parent %v), %d server spans", len(cs), cs[len(cs)-1].Parent(), len(ss))
			}
			if ss[0].Parent().TraceID() != parent.TraceID() || !ss[0].SpanContext().Equal(sc) {
				t.Fatalf("server span %v (parent %v), handler's %v", ss[0].SpanContext(), ss[0].Parent(), sc)
			}
		})
	}
}

// wrapped is a propagator the plugins do not know (W3C trace context
// under another header): its own Inject and Extract run.
type wrapped struct{}

func (wrapped) Inject(ctx context.Context, c propagation.TextMapCarrier) {
	m := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, m)
	c.Set("x-trace", m["traceparent"])
}

func (wrapped) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": c.Get("x-trace")})
}

func (wrapped) Fields() []string { return []string{"x-trace"} }

// With a propagator of its own, the trace continues through it:
// client call span → attempt span → server span, and the handler's ctx
// has the server span.
func TestTraceOwnPropagator(t *testing.T) {
	e := newEnv(t)
	seen, srv, attempt, call := linkedCall(t, e, serverotel.New(serverotel.WithTracerProvider(e.tp), serverotel.WithPropagators(wrapped{})),
		clientotel.New(clientotel.WithTracerProvider(e.tp), clientotel.WithPropagators(wrapped{})))
	if !srv[0].Parent().IsRemote() || srv[0].SpanContext().TraceID() != call.SpanContext().TraceID() {
		t.Fatalf("links: call %v, attempt %v (parent %v), server %v (parent %v)",
			call.SpanContext(), attempt.SpanContext(), attempt.Parent(), srv[0].SpanContext(), srv[0].Parent())
	}
	if tp, sc := seen.get(); tp != "" || !sc.Equal(srv[0].SpanContext()) {
		t.Fatalf("traceparent %q sent, handler's span %v, server span %v", tp, sc, srv[0].SpanContext())
	}
}

// attrSampler samples everything and keeps the attributes it was shown.
type attrSampler struct {
	mu   sync.Mutex
	seen []attribute.KeyValue
}

func (s *attrSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.mu.Lock()
	s.seen = append(s.seen, p.Attributes...)
	s.mu.Unlock()
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}

func (s *attrSampler) Description() string { return "attrSampler" }

func (s *attrSampler) sawMethod() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, kv := range s.seen {
		if kv.Key == "rpc.method" {
			return true
		}
	}
	return false
}

// By default a sampler sees no attributes and the recorded spans have
// them all; with WithStartAttributes the sampler sees them too.
func TestStartAttributes(t *testing.T) {
	for _, start := range []bool{false, true} {
		sampler := &attrSampler{}
		tp, sr := tracerOf(t, sampler)
		so, co := []serverotel.Option{serverotel.WithTracerProvider(tp)}, []clientotel.Option{clientotel.WithTracerProvider(tp)}
		if start {
			so, co = append(so, serverotel.WithStartAttributes()), append(co, clientotel.WithStartAttributes())
		}
		s := server.NewServer()
		s.Plugins.Add(serverotel.New(so...))
		addr := serve(t, s, map[string]any{"Arith": new(testutils.Arith)})
		xc := xclient(t, "Arith", client.Failtry, client.DefaultOption, clientotel.New(co...), addr)
		if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{}); err != nil {
			t.Fatal(err)
		}
		if got := sampler.sawMethod(); got != start {
			t.Errorf("start attributes %v: the sampler saw rpc.method: %v", start, got)
		}
		spans := sr.Ended()
		if len(spans) != 3 {
			t.Fatalf("%d spans, want 3", len(spans))
		}
		for _, sp := range spans {
			if attrStr(sp, "rpc.method") != "Arith/Mul" || attrStr(sp, "rpc.system.name") != "rpcx" {
				t.Errorf("start attributes %v: %v span lacks its attributes: %v", start, sp.SpanKind(), sp.Attributes())
			}
		}
	}
}

// The hooks of an unsampled call allocate at most: server 3 (its state,
// the SDK's non-recording span and the ctx Tracer.Start makes), client
// Failtry 8 (two states, two spans of 2, the request metadata's map of
// 2). A regression guard of the unsampled path (see benchmarks/RESULTS.md).
func TestUnsampledAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	tp, _ := tracerOf(t, sdktrace.ParentBased(sdktrace.NeverSample()))
	sp := serverotel.New(serverotel.WithTracerProvider(tp))
	cp := clientotel.New(clientotel.WithTracerProvider(tp))
	conn := benchConn()
	req := protocol.NewMessage()
	req.ServicePath, req.ServiceMethod = "Arith", "Mul"
	req.Metadata = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}
	if n := leastAllocs(func() {
		ctx := sp.StartCall(context.Background(), conn, req)
		sp.EndCall(ctx, req, nil, nil)
	}); n > 3 {
		t.Errorf("server hooks: %v allocations, want at most 3", n)
	}
	creq := protocol.NewMessage()
	if n := leastAllocs(func() {
		info := client.CallInfo{ServicePath: "Arith", ServiceMethod: "Mul", FailMode: client.Failtry}
		ctx := cp.StartCall(context.Background(), &info)
		creq.ServicePath, creq.ServiceMethod, creq.Metadata = "Arith", "Mul", nil
		actx := cp.StartAttempt(ctx, creq, "127.0.0.1:8972")
		cp.EndAttempt(actx, nil, nil)
		cp.EndCall(ctx, &info, nil)
	}); n > 8 {
		t.Errorf("client hooks: %v allocations, want at most 8", n)
	}
	if tp := creq.Metadata["traceparent"]; !strings.HasSuffix(tp, "-00") {
		t.Errorf("client sent traceparent %q", tp)
	}
}

// leastAllocs returns the least of three testing.AllocsPerRun of f, which
// also counts what other goroutines allocate meanwhile.
func leastAllocs(f func()) float64 {
	n := testing.AllocsPerRun(200, f)
	for range 2 {
		n = min(n, testing.AllocsPerRun(200, f))
	}
	return n
}

// Without the API's span key (otelobs.SpanKey nil: a future API hid it)
// the plugins fall back to the contexts Tracer.Start returns: the same
// links, the handler's ctx with the server span, the data phase a child
// of its token call's span.
func TestTraceWithoutSpanKey(t *testing.T) {
	key := otelobs.SpanKey
	otelobs.SpanKey = nil
	t.Cleanup(func() { otelobs.SpanKey = key }) // runs after the servers' cleanups
	e := newEnv(t)
	seen, srv, _, _ := linkedCall(t, e, e.serverPlugin(), e.clientPlugin())
	if _, sc := seen.get(); !sc.Equal(srv[0].SpanContext()) {
		t.Fatalf("handler's span %v, server span %v", sc, srv[0].SpanContext())
	}
	testTraceTransfer(t, false)
}

// Bag is a service that reports the baggage member "user" of its ctx.
type Bag struct{ user chan string }

// Mul reports the member and multiplies.
func (b *Bag) Mul(ctx context.Context, a *testutils.Args, r *testutils.Reply) error {
	b.user <- baggage.FromContext(ctx).Member("user").Value()
	r.C = a.A * a.B
	return nil
}

// The caller's baggage reaches the handler's ctx (W3C baggage in the
// request metadata), with the default propagators, sampled or not.
func TestBaggagePropagates(t *testing.T) {
	for _, sampler := range []sdktrace.Sampler{sdktrace.AlwaysSample(), sdktrace.ParentBased(sdktrace.NeverSample())} {
		tp, _ := tracerOf(t, sampler)
		s := server.NewServer()
		s.Plugins.Add(serverotel.New(serverotel.WithTracerProvider(tp)))
		bag := &Bag{user: make(chan string, 1)}
		addr := serve(t, s, map[string]any{"Arith": bag})
		xc := xclient(t, "Arith", client.Failtry, client.DefaultOption, clientotel.New(clientotel.WithTracerProvider(tp)), addr)
		m, err := baggage.NewMember("user", "alice")
		if err != nil {
			t.Fatal(err)
		}
		b, err := baggage.New(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := xc.Call(baggage.ContextWithBaggage(t.Context(), b), "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{}); err != nil {
			t.Fatal(err)
		}
		if got := <-bag.user; got != "alice" {
			t.Fatalf("%s: the handler's baggage user = %q, want alice", sampler.Description(), got)
		}
	}
}

// linkedCall makes one Failtry call of Arith.Mul through a server with sp
// and an XClient with cp, checks that it left one server span and two
// client spans (the call and its attempt) linked call → attempt → server,
// and returns the service and the spans.
func linkedCall(t *testing.T, e *env, sp server.Plugin, cp client.Plugin) (seen *Seen, srv []sdktrace.ReadOnlySpan, attempt, call sdktrace.ReadOnlySpan) {
	t.Helper()
	s := server.NewServer()
	s.Plugins.Add(sp)
	seen = &Seen{}
	addr := serve(t, s, map[string]any{"Arith": seen})
	xc := xclient(t, "Arith", client.Failtry, client.DefaultOption, cp, addr)
	if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{}); err != nil {
		t.Fatal(err)
	}
	spans := e.sr.Ended()
	srv, cli := byKind(spans, trace.SpanKindServer), byKind(spans, trace.SpanKindClient)
	if len(srv) != 1 || len(cli) != 2 {
		t.Fatalf("%d server and %d client spans, want 1 and 2", len(srv), len(cli))
	}
	attempt, call = cli[0], cli[1]
	if attempt.Parent().SpanID() != call.SpanContext().SpanID() || srv[0].Parent().SpanID() != attempt.SpanContext().SpanID() {
		t.Fatalf("links: call %v, attempt %v (parent %v), server parent %v", call.SpanContext(), attempt.SpanContext(), attempt.Parent(), srv[0].Parent())
	}
	return seen, srv, attempt, call
}
