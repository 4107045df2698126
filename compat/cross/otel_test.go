package cross

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	"github.com/courier-rpc/courier/server"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	rprotocol "github.com/smallnest/rpcx/protocol"
	rshare "github.com/smallnest/rpcx/share"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// An rpcx v1.9.1 client that sends W3C trace context in its request
// metadata (what rpcx's OpenTelemetry plugin does) joins the trace: the
// courier server's span has the client's trace id and span as parent.
func TestRpcxClientTraceparentJoinsTrace(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())

	s := server.NewServer()
	s.Plugins.Add(serverotel.New(serverotel.WithTracerProvider(tp)))
	if err := s.RegisterName("Arith", testsvc.NewArith(testsvc.RpcxMeta(rshare.ReqMetaDataKey, rshare.ResMetaDataKey)), ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("tcp", ln) }()
	<-s.Started
	defer func() {
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()

	// The caller's span, as rpcx's plugin would have it, injected into the
	// metadata map the rpcx client sends.
	callerCtx, caller := tp.Tracer("rpcx-client").Start(context.Background(), "Arith.Mul", trace.WithSpanKind(trace.SpanKindClient))
	md := map[string]string{}
	propagation.TraceContext{}.Inject(callerCtx, propagation.MapCarrier(md))
	caller.End()

	xc := newRpcxXClient(t, "Arith", ln.Addr().String(), rpcxOption(byte(rprotocol.JSON), false))
	ctx := context.WithValue(ctxTimeout(t), rshare.ReqMetaDataKey, md)
	var reply testsvc.Reply
	if err := xc.Call(ctx, "Mul", &testsvc.Args{A: 6, B: 7}, &reply); err != nil || reply.C != 42 {
		t.Fatalf("call: %v, %d", err, reply.C)
	}
	var srv sdktrace.ReadOnlySpan
	for _, sp := range sr.Ended() {
		if sp.SpanKind() == trace.SpanKindServer {
			srv = sp
		}
	}
	if srv == nil {
		t.Fatal("no server span")
	}
	if srv.SpanContext().TraceID() != caller.SpanContext().TraceID() || srv.Parent().SpanID() != caller.SpanContext().SpanID() || !srv.Parent().IsRemote() {
		t.Fatalf("server span %s not in the rpcx client's trace under its span", srv.Name())
	}
	if srv.Name() != "Arith/Mul" {
		t.Fatalf("server span name %q", srv.Name())
	}
}
