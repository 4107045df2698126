package otel_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	clientotel "github.com/courier-rpc/courier/clientplugin/otel"
	"github.com/courier-rpc/courier/server"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// env is an OTel SDK with an in-memory span recorder and a manual metric
// reader, shut down at cleanup.
type env struct {
	sr     *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{sr: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.sr))
	e.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	t.Cleanup(func() {
		_ = e.tp.Shutdown(context.Background())
		_ = e.mp.Shutdown(context.Background())
	})
	return e
}

func (e *env) serverPlugin() *serverotel.OpenTelemetryPlugin {
	return serverotel.New(serverotel.WithTracerProvider(e.tp), serverotel.WithMeterProvider(e.mp))
}

func (e *env) clientPlugin() *clientotel.OpenTelemetryPlugin {
	return clientotel.New(clientotel.WithTracerProvider(e.tp), clientotel.WithMeterProvider(e.mp))
}

// serve starts s on loopback TCP with the given services and returns its
// address; it is closed at cleanup.
func serve(t *testing.T, s *server.Server, services map[string]any) string {
	t.Helper()
	for name, rcvr := range services {
		if err := s.RegisterName(name, rcvr, ""); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("tcp", ln) }()
	<-s.Started
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// xclient returns an XClient over the given servers with the plugin added.
func xclient(t *testing.T, service string, mode client.FailMode, opt client.Option, p client.Plugin, addrs ...string) client.XClient {
	t.Helper()
	pairs := make([]*client.KVPair, len(addrs))
	for i, a := range addrs {
		pairs[i] = &client.KVPair{Key: "tcp@" + a}
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		t.Fatal(err)
	}
	xc := client.NewXClient(service, mode, client.RandomSelect, d, opt)
	if p != nil {
		xc.GetPlugins().Add(p)
	}
	t.Cleanup(func() { xc.Close() })
	return xc
}

// fixedSelector always chooses key (the XClient falls back to another
// server once key is excluded).
type fixedSelector struct{ key string }

func (f fixedSelector) Select(context.Context, string, string, interface{}) string { return f.key }
func (f fixedSelector) UpdateServer(map[string]string)                             {}

// Front is service A: it calls service B's Arith.Mul through its own
// XClient with the incoming ctx, so the trace continues.
type Front struct{ next client.XClient }

// Mul forwards to B.
func (f *Front) Mul(ctx context.Context, a *testutils.Args, r *testutils.Reply) error {
	return f.next.Call(ctx, "Mul", a, r)
}

// Slow answers after release or ctx, whichever comes first.
type Slow struct{ d time.Duration }

// Mul waits d (or ctx), then multiplies.
func (s *Slow) Mul(ctx context.Context, a *testutils.Args, r *testutils.Reply) error {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return ctx.Err()
	}
	r.C = a.A * a.B
	return nil
}

// Dropper closes the caller's connection instead of answering: a
// connection error, which Failover retries elsewhere.
type Dropper struct{}

// Mul closes the connection.
func (Dropper) Mul(ctx context.Context, a *testutils.Args, r *testutils.Reply) error {
	if nc, ok := ctx.Value(server.RemoteConnContextKey).(net.Conn); ok {
		nc.Close()
	}
	return errors.New("dropped")
}
