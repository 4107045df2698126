// Command metrics shows MetricsPlugin: it makes some calls, one of which
// fails, then reads the per-method metrics from the go-metrics registry and
// from the plugin's JSON HTTP handler. It needs no external service:
//
//	go run ./examples/plugins/metrics
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// Args are the arguments of Arith's methods.
type Args struct{ A, B int }

// Reply is the result of Arith's methods.
type Reply struct{ C int }

// Arith is the service.
type Arith int

// Mul multiplies.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

// Div divides, failing on a zero divisor.
func (t *Arith) Div(ctx context.Context, args *Args, reply *Reply) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	reply.C = args.A / args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

func run() error {
	registry := metrics.NewRegistry()
	p := serverplugin.NewMetricsPlugin(registry)
	s := server.NewServer()
	s.Plugins.Add(p) // before Register, so serviceCounter counts Arith
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	defer s.Close()

	// The metrics as JSON over HTTP, on another loopback port.
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: p.HTTPHandler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(hln)
	defer hs.Close()

	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", ln.Addr().String()); err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 10; i++ {
		if err := c.Call(ctx, "Arith", "Mul", &Args{A: i, B: i}, &Reply{}); err != nil {
			return err
		}
	}
	for _, b := range []int{2, 0} {
		err := c.Call(ctx, "Arith", "Div", &Args{A: 10, B: b}, &Reply{})
		fmt.Printf("Div(10, %d): error %v\n", b, err)
	}

	// Responses are counted once written, which may trail the client by a
	// moment: wait until all 12 are in.
	deadline := time.Now().Add(5 * time.Second)
	for written(registry, "Mul")+written(registry, "Div") < 12 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for _, m := range []string{"Mul", "Div"} {
		base := "service.Arith." + m
		fmt.Printf("Arith.%s: calls %d, errors %d, mean call time > 0: %v\n", m,
			registry.Get(base+".Read_Qps").(metrics.Meter).Count(),
			registry.Get(base+".Error_Qps").(metrics.Meter).Count(),
			registry.Get(base+".CallTime").(metrics.Histogram).Mean() > 0)
	}

	resp, err := http.Get("http://" + hln.Addr().String() + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var doc map[string]map[string]interface{}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return err
	}
	fmt.Printf("JSON: service.Arith.Mul.Read_Qps count = %v, connections = %v, serviceCounter = %v\n",
		doc["service.Arith.Mul.Read_Qps"]["count"], doc["connections"]["count"], doc["serviceCounter"]["count"])
	return nil
}

// written returns how many responses of Arith.method were written.
func written(r metrics.Registry, method string) int64 {
	if m, ok := r.Get("service.Arith." + method + ".Write_Qps").(metrics.Meter); ok {
		return m.Count()
	}
	return 0
}
