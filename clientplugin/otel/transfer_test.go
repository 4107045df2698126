package otel_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	clientotel "github.com/courier-rpc/courier/clientplugin/otel"
	"github.com/courier-rpc/courier/server"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	"github.com/courier-rpc/courier/share"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// SendFile and Stream get a CLIENT span of their own (courier.fail_mode
// "send_file" / "stream") around the call that hands out the data token,
// whose span is its child; the server's span of that call continues the
// trace, and the SERVER span of the data phase ("TransferFile.data",
// "Stream.data") is the child of that server span. With the default
// propagators and with one of the program's own.
func TestTraceFileTransferAndStream(t *testing.T) {
	for _, own := range []bool{false, true} {
		name := "w3c"
		if own {
			name = "own propagator"
		}
		t.Run(name, func(t *testing.T) { testTraceTransfer(t, own) })
	}
}

func testTraceTransfer(t *testing.T, ownPropagator bool) {
	e := newEnv(t)
	sp, cp := e.serverPlugin(), e.clientPlugin()
	if ownPropagator {
		sp = serverotel.New(serverotel.WithTracerProvider(e.tp), serverotel.WithMeterProvider(e.mp), serverotel.WithPropagators(wrapped{}))
		cp = clientotel.New(clientotel.WithTracerProvider(e.tp), clientotel.WithMeterProvider(e.mp), clientotel.WithPropagators(wrapped{}))
	}
	s := server.NewServer()
	s.Plugins.Add(sp)
	ft := server.NewFileTransfer("127.0.0.1:0", func(conn net.Conn, _ *share.FileTransferArgs) {
		_, _ = io.Copy(io.Discard, conn)
	}, nil, 10)
	s.EnableFileTransfer(share.SendFileServiceName, ft)
	ss := server.NewStreamService("127.0.0.1:0", func(conn net.Conn, _ *share.StreamServiceArgs) { conn.Close() }, nil, 10)
	s.EnableStreamService(share.StreamServiceName, ss)
	addr := serve(t, s, nil)
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, make([]byte, 100<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	xf := xclient(t, share.SendFileServiceName, client.Failtry, client.DefaultOption, cp, addr)
	if err := xf.SendFile(t.Context(), name, 0, nil); err != nil {
		t.Fatal(err)
	}
	xs := xclient(t, share.StreamServiceName, client.Failtry, client.DefaultOption, cp, addr)
	conn, err := xs.Stream(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(byName(e.sr.Ended(), share.StreamServiceName+"/Stream.data")) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the stream's span ends when its handler returns
	}
	spans := e.sr.Ended()
	for _, c := range []struct{ name, kind string }{
		{share.SendFileServiceName + "/TransferFile", "send_file"},
		{share.StreamServiceName + "/Stream", "stream"},
	} {
		var outer, call, srv sdktrace.ReadOnlySpan
		for _, sp := range spans {
			switch {
			case sp.Name() != c.name:
			case sp.SpanKind() == trace.SpanKindServer:
				srv = sp
			case attrStr(sp, "courier.fail_mode") == c.kind:
				outer = sp
			case attrStr(sp, "courier.fail_mode") == "failtry":
				call = sp
			}
		}
		if outer == nil || call == nil || srv == nil {
			t.Fatalf("%s: missing the transfer, call or server span among %d", c.name, len(spans))
		}
		if call.Parent().SpanID() != outer.SpanContext().SpanID() || srv.SpanContext().TraceID() != outer.SpanContext().TraceID() {
			t.Errorf("%s: the call is not the transfer span's child, or the server span is in another trace", c.name)
		}
		if outer.EndTime().Before(call.EndTime()) {
			t.Errorf("%s: the transfer span ended before its call", c.name)
		}
		data := byName(spans, c.name+".data")
		if len(data) != 1 || data[0].SpanKind() != trace.SpanKindServer || data[0].SpanContext().TraceID() != outer.SpanContext().TraceID() {
			t.Errorf("%s: %d data-phase spans, or not a SERVER span in the transfer's trace", c.name, len(data))
			continue
		}
		if p := data[0].Parent(); p.SpanID() != srv.SpanContext().SpanID() || p.IsRemote() {
			t.Errorf("%s: the data phase's parent is %v, want the token call's server span %v", c.name, p, srv.SpanContext())
		}
	}
}

func byName(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}
