package otel_test

import (
	"context"
	"net"
	"syscall"
	"testing"

	"github.com/courier-rpc/courier/client"
	clientotel "github.com/courier-rpc/courier/clientplugin/otel"
	"github.com/courier-rpc/courier/protocol"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// addrConn is a net.Conn that only has addresses (the plugins read
// nothing else).
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c addrConn) LocalAddr() net.Addr  { return c.local }
func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// discard drops the spans the batch processor exports.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// benchModes are the configurations the hook benchmarks run: an SDK that
// samples every span into a batch processor with a discarding exporter
// and a manual metric reader, as benchmarks/cmd/otelcost has it; and
// "unsampled", traces and metrics with a ParentBased sampler that samples
// no root (the server's caller sent traceparent flags 00): the cost of
// the calls a low sampling rate leaves unsampled.
var benchModes = []struct {
	name      string
	opts      []clientotel.Option
	unsampled bool
}{
	{"metrics", []clientotel.Option{clientotel.WithoutTraces()}, false},
	{"traces", []clientotel.Option{clientotel.WithoutMetrics()}, false},
	{"both", nil, false},
	{"unsampled", nil, true},
}

func benchProviders(b *testing.B, unsampled bool) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
	sampler := sdktrace.AlwaysSample()
	if unsampled {
		sampler = sdktrace.ParentBased(sdktrace.NeverSample())
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return tp, mp
}

// benchConn returns a connection with loopback addresses, as a net.Conn.
func benchConn() net.Conn {
	return addrConn{local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8972}, remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50123}}
}

// BenchmarkServerHooks measures the server plugin's StartCall + EndCall
// of one call.
func BenchmarkServerHooks(b *testing.B) {
	conn := benchConn() // one interface value, as the server has
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			tp, mp := benchProviders(b, m.unsampled)
			p := serverotel.New(append([]clientotel.Option{serverotel.WithTracerProvider(tp), serverotel.WithMeterProvider(mp)}, m.opts...)...)
			req := protocol.NewMessage()
			req.ServicePath, req.ServiceMethod, req.Payload = "Arith", "Mul", make([]byte, 16)
			flags := "01"
			if m.unsampled {
				flags = "00"
			}
			req.Metadata = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-" + flags}
			res := protocol.NewMessage()
			res.Payload = make([]byte, 8)
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ctx := p.StartCall(context.Background(), conn, req)
					p.EndCall(ctx, req, res, nil)
				}
			})
		})
	}
}

// BenchmarkClientHooks measures the client plugin's hooks of one XClient
// call with one attempt: StartCall, StartAttempt, EndAttempt, EndCall, in
// a fail mode that may retry (a call span and an attempt span) and in
// Failfast (one span).
func BenchmarkClientHooks(b *testing.B) {
	for _, fm := range []client.FailMode{client.Failtry, client.Failfast} {
		for _, m := range benchModes {
			b.Run(fm.String()+"/"+m.name, func(b *testing.B) { benchClientHooks(b, fm, m.opts, m.unsampled) })
		}
	}
}

func benchClientHooks(b *testing.B, fm client.FailMode, opts []clientotel.Option, unsampled bool) {
	tp, mp := benchProviders(b, unsampled)
	p := clientotel.New(append([]clientotel.Option{clientotel.WithTracerProvider(tp), clientotel.WithMeterProvider(mp)}, opts...)...)
	res := protocol.NewMessage()
	res.Payload = make([]byte, 8)
	b.ReportAllocs()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		req := protocol.NewMessage()
		for pb.Next() {
			info := client.CallInfo{ServicePath: "Arith", ServiceMethod: "Mul", FailMode: fm}
			ctx := p.StartCall(context.Background(), &info)
			req.ServicePath, req.ServiceMethod, req.Payload, req.Metadata = "Arith", "Mul", res.Payload, nil
			actx := p.StartAttempt(ctx, req, "127.0.0.1:8972")
			p.EndAttempt(actx, res, nil)
			p.EndCall(ctx, &info, nil)
		}
	})
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per op as cpu-ns/op, which a busy shared machine
// disturbs less than ns/op (wall time).
func reportCPU(b *testing.B) func() {
	start := cpuNanos()
	return func() { b.ReportMetric(float64(cpuNanos()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSDKSpan is the floor under the plugins: the SDK's own cost of a
// span started and ended in the configuration above, with no attribute
// and with the nine a server span has (given at the start in one option).
func BenchmarkSDKSpan(b *testing.B) {
	nine := trace.WithAttributes(
		attribute.String("rpc.system.name", "rpcx"), attribute.String("rpc.method", "Arith/Mul"),
		attribute.String("rpc.response.status_code", "OK"), attribute.String("rpc.status_code", "OK"),
		attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 8972),
		attribute.String("network.peer.address", "127.0.0.1"), attribute.Int("network.peer.port", 50123),
		attribute.String("network.transport", "tcp"))
	kind := trace.WithSpanKind(trace.SpanKindServer)
	nineCfg := trace.NewSpanStartConfig(nine)
	nineAttrs := nineCfg.Attributes()
	for _, c := range []struct {
		name  string
		opts  []trace.SpanStartOption
		after []attribute.KeyValue // set after the start
	}{{"0attrs", []trace.SpanStartOption{kind}, nil}, {"9attrs", []trace.SpanStartOption{kind, nine}, nil}, {"9attrs-after", []trace.SpanStartOption{kind}, nineAttrs}} {
		b.Run(c.name, func(b *testing.B) {
			tp, _ := benchProviders(b, false)
			tr := tp.Tracer("bench")
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, span := tr.Start(context.Background(), "Arith/Mul", c.opts...)
					if c.after != nil {
						span.SetAttributes(c.after...)
					}
					span.End()
				}
			})
		})
	}
}
