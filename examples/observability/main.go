// Command observability runs a server with every observability piece on,
// calls it, shows what each one reports, and shuts down gracefully:
//
//   - OpenTelemetry traces (serverplugin/otel, clientplugin/otel) printed to
//     stdout by the SDK's stdout exporter;
//   - Prometheus metrics at GET /metrics on the server's own port;
//   - the Health service (Check) and the probes GET /healthz, GET /readyz;
//   - an access log line per call (serverplugin/accesslog, slog);
//   - the debug page at GET /debug/courier.
//
// go run ./examples/observability [-linger 1m] keeps the server up for a
// while so you can curl the endpoints it prints.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/courier-rpc/courier/client"
	clientotel "github.com/courier-rpc/courier/clientplugin/otel"
	clientprom "github.com/courier-rpc/courier/clientplugin/prometheus"
	"github.com/courier-rpc/courier/health"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin/accesslog"
	"github.com/courier-rpc/courier/serverplugin/debugpage"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	"github.com/courier-rpc/courier/serverplugin/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Args and Reply are Arith's argument and reply.
type Args struct{ A, B int }

// Reply is Arith's reply.
type Reply struct{ C int }

// Arith multiplies.
type Arith struct{}

// Mul sets C = A * B.
func (Arith) Mul(_ context.Context, a *Args, r *Reply) error { r.C = a.A * a.B; return nil }

func main() {
	linger := flag.Duration("linger", 0, "keep serving this long before shutting down")
	flag.Parse()
	if err := run(*linger); err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

func run(linger time.Duration) error {
	exp, err := stdouttrace.New(stdouttrace.WithPrettyPrint())
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())

	s := server.NewServer(server.WithShutdownDelay(200 * time.Millisecond))
	s.Plugins.Add(serverotel.New(serverotel.WithTracerProvider(tp)))
	s.Plugins.Add(accesslog.New(slog.New(slog.NewTextHandler(os.Stdout, nil))))
	metrics, err := prometheus.Install(s)
	if err != nil {
		return err
	}
	if err := s.RegisterName("Arith", Arith{}, ""); err != nil {
		return err
	}
	if _, err := health.Register(s); err != nil {
		return err
	}
	ln, err := s.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = s.ServeListener("tcp", ln) }()
	<-s.Started
	addr := ln.Addr().String()

	d, err := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		return err
	}
	xc := client.NewXClient("Arith", client.Failover, client.RandomSelect, d, client.DefaultOption)
	defer xc.Close()
	xc.GetPlugins().Add(clientotel.New(clientotel.WithTracerProvider(tp)))
	if _, err := clientprom.Install(metrics.Registry(), xc); err != nil { // client series on the same /metrics
		return err
	}
	debugpage.Install(s, debugpage.Client{Name: "Arith", XClient: xc, Discovery: d})

	for i := 1; i <= 3; i++ {
		var r Reply
		if err := xc.Call(context.Background(), "Mul", &Args{A: i, B: 7}, &r); err != nil {
			return err
		}
		fmt.Printf("Arith.Mul(%d, 7) = %d\n", i, r.C)
	}
	st, err := health.CheckServer(context.Background(), "tcp", addr, "")
	if err != nil {
		return err
	}
	fmt.Println("Health.Check:", st)
	for _, path := range []string{server.HealthzPath, server.ReadyzPath, prometheus.MetricsPath} {
		body, code, err := get("http://" + addr + path)
		if err != nil {
			return err
		}
		fmt.Printf("GET %s -> %d\n", path, code)
		for _, l := range strings.Split(body, "\n") {
			if path != prometheus.MetricsPath || strings.HasPrefix(l, "rpc_server_call_duration_seconds_count") || strings.HasPrefix(l, "rpc_client_call_duration_seconds_count") {
				if l != "" {
					fmt.Println("  " + l)
				}
			}
		}
	}
	if linger > 0 {
		fmt.Printf("serving on %s for %v: try curl http://%s%s\n", addr, linger, addr, debugpage.Path)
		time.Sleep(linger)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// get fetches url and returns its body and status.
func get(url string) (string, int, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), res.StatusCode, err
}
