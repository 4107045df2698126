package accesslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// syncBuffer is a bytes.Buffer safe for the handler goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func run(t *testing.T, p *Plugin, pre ...server.Plugin) *client.Client {
	t.Helper()
	s := server.NewServer()
	for _, x := range pre {
		s.Plugins.Add(x)
	}
	s.Plugins.Add(p)
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("tcp", ln) }()
	<-s.Started
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return c
}

func TestLinesAndSampling(t *testing.T) {
	var buf syncBuffer
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(t.Context())
	c := run(t, New(slog.New(slog.NewJSONHandler(&buf, nil)), WithSuccessSample(0)), serverotel.New(serverotel.WithTracerProvider(tp)))
	for range 20 {
		if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Call(t.Context(), "Arith", "Div", &testutils.Args{A: 1}, &testutils.Reply{}); err == nil {
		t.Fatal("Div by zero succeeded")
	}
	lines := buf.lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want only the error's", len(lines))
	}
	l := lines[0]
	if l["method"] != "Arith/Div" || l["code"] != "UNKNOWN" || l["level"] != "WARN" || l["peer"] == "" || l["req_bytes"] == nil || l["error"] == nil {
		t.Fatalf("line %v", l)
	}
	if id, _ := l["trace_id"].(string); len(id) != 32 {
		t.Fatalf("trace_id %q", id)
	}
}

func TestAllSuccesses(t *testing.T) {
	var buf syncBuffer
	c := run(t, New(slog.New(slog.NewJSONHandler(&buf, nil))))
	for range 5 {
		if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{}); err != nil {
			t.Fatal(err)
		}
	}
	lines := buf.lines(t)
	if len(lines) != 5 || lines[0]["code"] != "OK" || lines[0]["res_bytes"] == nil || lines[0]["trace_id"] != nil {
		t.Fatalf("lines %v", lines)
	}
}
