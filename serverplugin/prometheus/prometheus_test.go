package prometheus

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	dto "github.com/prometheus/client_model/go"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// startServer serves an Arith server with the plugin installed on loopback
// TCP and returns it, the plugin and the address.
func startServer(t *testing.T) (*server.Server, *Plugin, string) {
	t.Helper()
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	p, err := Install(s)
	if err != nil {
		t.Fatal(err)
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
	return s, p, ln.Addr().String()
}

func dial(t *testing.T, addr string) *client.Client {
	t.Helper()
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// histogram returns the sample count and sum of the duration histogram
// with the given labels (summed over the others).
func histogram(t *testing.T, p *Plugin, labels map[string]string) (count uint64, sum float64) {
	t.Helper()
	mfs, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rpc_server_call_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				count += m.GetHistogram().GetSampleCount()
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return count, sum
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

// 10,000 calls from 100 goroutines are counted exactly, with the labels
// of the contract, and the endpoint serves them on the rpc port.
func TestExactCountsConcurrent(t *testing.T) {
	_, p, addr := startServer(t)
	const goroutines, perG = 100, 100
	c := dial(t, addr)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				var r testutils.Reply
				if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: g, B: i}, &r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for range 7 {
		var r testutils.Reply
		if err := c.Call(t.Context(), "Arith", "Div", &testutils.Args{A: 1}, &r); err == nil {
			t.Fatal("Div by zero succeeded")
		}
	}
	_ = c.Call(t.Context(), "Arith", "NoSuch", &testutils.Args{}, &testutils.Reply{})
	n, sum := histogram(t, p, map[string]string{"rpc_method": "Arith/Mul", "error_type": "", "rpc_response_status_code": "OK", "rpc_system_name": "rpcx"})
	if n != goroutines*perG {
		t.Fatalf("Arith/Mul count = %d, want %d", n, goroutines*perG)
	}
	if sum <= 0 || sum > 60 {
		t.Fatalf("Arith/Mul duration sum = %v s: not in seconds?", sum)
	}
	if n, _ := histogram(t, p, map[string]string{"rpc_method": "Arith/Div", "error_type": "UNKNOWN"}); n != 7 {
		t.Fatalf("Arith/Div errors = %d, want 7", n)
	}
	if n, _ := histogram(t, p, map[string]string{"rpc_method": "_OTHER", "error_type": "UNIMPLEMENTED"}); n != 1 {
		t.Fatalf("unknown method count = %d, want 1 under _OTHER", n)
	}
	res, err := http.Get("http://" + addr + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`rpc_server_call_duration_seconds_count{error_type="",rpc_method="Arith/Mul",rpc_response_status_code="OK",rpc_system_name="rpcx"} 10000`,
		`rpc_server_calls_in_flight 0`, `rpc_server_connections_open`, `courier_server_requests_total`, `courier_server_shed_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("GET /metrics lacks %q:\n%s", want, body)
		}
	}
}

func TestAdminAddress(t *testing.T) {
	_, p, addr := startServer(t)
	c := dial(t, addr)
	if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+MetricsPath, nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	hc := &http.Client{Timeout: 5 * time.Second}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(string(body), "# EOF\n") {
		t.Fatalf("not OpenMetrics: %s\n%s", res.Header.Get("Content-Type"), body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	hc.CloseIdleConnections()
}
