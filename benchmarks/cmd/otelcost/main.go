// Command otelcost measures what tracing and metrics cost: req/s of one
// courier server and one XClient in this process over loopback TCP, at
// -c concurrent callers, with no plugin ("off") and with serverplugin/otel
// and clientplugin/otel on an OTel SDK that samples every span, batches
// them to an exporter that discards them, and aggregates metrics ("on").
// Runs alternate off/on -pairs times; it prints each pair's on ÷ off and
// the median.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/client"
	clientotel "github.com/courier-rpc/courier/clientplugin/otel"
	"github.com/courier-rpc/courier/server"
	serverotel "github.com/courier-rpc/courier/serverplugin/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Args and Reply are the echo's argument and reply.
type Args struct{ A, B int }

// Reply is the reply.
type Reply struct{ C int }

// Arith multiplies.
type Arith struct{}

// Mul sets C = A * B.
func (Arith) Mul(_ context.Context, a *Args, r *Reply) error { r.C = a.A * a.B; return nil }

// discard is a span exporter that drops what it gets.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

func main() {
	conc := flag.Int("c", 100, "concurrent callers")
	dur := flag.Duration("d", 3*time.Second, "duration of each run")
	pairs := flag.Int("pairs", 3, "off/on pairs")
	flag.StringVar(&only, "only", "", "traces or metrics: turn just that one on (diagnosis)")
	flag.Parse()
	var ratios []float64
	for i := range *pairs {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		res := map[bool]float64{}
		for _, on := range order {
			r, err := measure(on, *conc, *dur)
			if err != nil {
				fmt.Fprintln(os.Stderr, "otelcost:", err)
				os.Exit(1)
			}
			res[on] = r
		}
		ratio := res[true] / res[false]
		ratios = append(ratios, ratio)
		fmt.Printf("pair %d: off %.0f req/s, on %.0f req/s, on/off %.3f\n", i+1, res[false], res[true], ratio)
	}
	slices.Sort(ratios)
	fmt.Printf("median on/off at c=%d: %.3f (cost %.1f %%)\n", *conc, ratios[len(ratios)/2], 100*(1-ratios[len(ratios)/2]))
}

var only string

// measure runs one configuration and returns its calls per second.
func measure(on bool, conc int, dur time.Duration) (float64, error) {
	s := server.NewServer()
	var xplug client.Plugin
	if on {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(discard{}))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer tp.Shutdown(context.Background())
		defer mp.Shutdown(context.Background())
		so := []serverotel.Option{serverotel.WithTracerProvider(tp), serverotel.WithMeterProvider(mp)}
		co := []clientotel.Option{clientotel.WithTracerProvider(tp), clientotel.WithMeterProvider(mp)}
		switch only {
		case "traces":
			so, co = append(so, serverotel.WithoutMetrics()), append(co, clientotel.WithoutMetrics())
		case "metrics":
			so, co = append(so, serverotel.WithoutTraces()), append(co, clientotel.WithoutTraces())
		}
		s.Plugins.Add(serverotel.New(so...))
		xplug = clientotel.New(co...)
	}
	if err := s.RegisterName("Arith", Arith{}, ""); err != nil {
		return 0, err
	}
	ln, err := s.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	go func() { _ = s.ServeListener("tcp", ln) }()
	defer s.Close()
	<-s.Started
	d, err := client.NewPeer2PeerDiscovery("tcp@"+ln.Addr().String(), "")
	if err != nil {
		return 0, err
	}
	xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer xc.Close()
	if xplug != nil {
		xc.GetPlugins().Add(xplug)
	}
	if err := xc.Call(context.Background(), "Mul", &Args{A: 1, B: 2}, &Reply{}); err != nil { // warm up the connection
		return 0, err
	}
	var calls atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r Reply
			for time.Now().Before(stop) {
				if err := xc.Call(context.Background(), "Mul", &Args{A: g, B: 3}, &r); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	if e, _ := firstErr.Load().(error); e != nil {
		return 0, e
	}
	return float64(calls.Load()) / time.Since(start).Seconds(), nil
}
