// Command otelcost measures what tracing and metrics cost: req/s of one
// courier server and one XClient in this process over loopback TCP, at
// -c concurrent callers, with no plugin ("off") and with serverplugin/otel
// and clientplugin/otel on an OTel SDK that samples every span, batches
// them to an exporter that discards them, and aggregates metrics ("on").
// Runs alternate off/on -pairs times (the order swapped every pair); it
// prints each pair's req/s, CPU time per call and allocations per call,
// the on ÷ off ratio of req/s and the off ÷ on ratio of CPU per call, and
// the median and range of both. CPU per call (user+system time of the
// process ÷ calls) is the steadier number on a shared machine, where req/s
// also follows what the other processes take; its ratio is the req/s
// ratio a CPU-bound run would show.
//
// With -cpuprofile or -memprofile it runs the "on" configuration once
// under the profiler instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/stats"
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

// config is what one run measures.
type config struct {
	on   bool
	only string // "", "traces" or "metrics"
	mode client.FailMode
	proc string  // span processor: batch, simple or none
	rate float64 // fraction of traces sampled (1: always)
	conc int
	dur  time.Duration
}

// result is what one run measured.
type result struct {
	rate   float64 // calls per second
	cpu    float64 // process CPU microseconds per call
	allocs float64 // heap allocations per call
}

func main() {
	cfg := config{}
	flag.IntVar(&cfg.conc, "c", 100, "concurrent callers")
	flag.DurationVar(&cfg.dur, "d", 3*time.Second, "duration of each run")
	pairs := flag.Int("pairs", 5, "off/on pairs")
	flag.StringVar(&cfg.only, "only", "", "traces or metrics: turn just that one on (diagnosis)")
	flag.StringVar(&cfg.proc, "spans", "batch", "span processor (diagnosis): batch (the issue's setup), simple (exports each span at its end) or none (spans recorded, never processed)")
	flag.Float64Var(&cfg.rate, "sample", 1, "fraction of traces sampled: 1 samples every span (the issue's setup), less uses ParentBased(TraceIDRatioBased)")
	failMode := flag.String("failmode", "Failtry", "the XClient's fail mode: Failtry (a call span and an attempt span per call), Failfast (one client span), Failover, Failbackup")
	cpuProfile := flag.String("cpuprofile", "", "run \"on\" once and write its CPU profile to this file")
	memProfile := flag.String("memprofile", "", "run \"on\" once and write its allocation profile to this file")
	flag.Parse()
	if cfg.only != "" && cfg.only != "traces" && cfg.only != "metrics" {
		fail(fmt.Errorf("-only %q: want traces or metrics", cfg.only))
	}
	mode, ok := parseFailMode(*failMode)
	if !ok {
		fail(fmt.Errorf("-failmode %q: want one of %v", *failMode, client.FailModeValues()))
	}
	cfg.mode = mode
	if cfg.proc != "batch" && cfg.proc != "simple" && cfg.proc != "none" {
		fail(fmt.Errorf("-spans %q: want batch, simple or none", cfg.proc))
	}
	if *cpuProfile != "" || *memProfile != "" {
		cfg.on = true
		fail(profile(cfg, *cpuProfile, *memProfile))
		return
	}
	if *pairs < 1 {
		fail(fmt.Errorf("-pairs %d: want at least 1", *pairs))
	}
	ratios := make([]float64, 0, *pairs)
	cpuRatios := make([]float64, 0, *pairs)
	for i := range *pairs {
		var res [2]result // off, on
		for k := range 2 {
			on := (k == 1) != (i%2 == 1) // off first in odd pairs, on first in even ones
			cfg.on = on
			r, err := measure(cfg)
			fail(err)
			res[b2i(on)] = r
		}
		ratio, cpuRatio := res[1].rate/res[0].rate, res[0].cpu/res[1].cpu
		ratios, cpuRatios = append(ratios, ratio), append(cpuRatios, cpuRatio)
		fmt.Printf("pair %d: off %.0f req/s %.1f µs-cpu/call %.1f allocs/call | on %.0f req/s %.1f µs-cpu/call %.1f allocs/call | on/off req/s %.3f, cpu %.3f\n",
			i+1, res[0].rate, res[0].cpu, res[0].allocs, res[1].rate, res[1].cpu, res[1].allocs, ratio, cpuRatio)
	}
	med, lo, hi := summary(ratios)
	fmt.Printf("median on/off req/s at c=%d, %v (%s): %.3f (range %.3f-%.3f, cost %.1f %%)\n",
		cfg.conc, cfg.mode, label(cfg.only), med, lo, hi, 100*(1-med))
	med, lo, hi = summary(cpuRatios)
	fmt.Printf("median off/on CPU per call: %.3f (range %.3f-%.3f): the req/s ratio of a CPU-bound run\n", med, lo, hi)
}

// summary returns the median, minimum and maximum of v (sorted in place).
func summary(v []float64) (med, lo, hi float64) {
	slices.Sort(v)
	return v[len(v)/2], v[0], v[len(v)-1]
}

func parseFailMode(s string) (client.FailMode, bool) {
	for _, m := range client.FailModeValues() {
		if m.String() == s {
			return m, true
		}
	}
	return 0, false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func label(only string) string {
	if only == "" {
		return "traces+metrics"
	}
	return only + " only"
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "otelcost:", err)
		os.Exit(1)
	}
}

// profile runs the "on" configuration once under the profilers asked for.
func profile(cfg config, cpuFile, memFile string) error {
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if memFile != "" {
		runtime.MemProfileRate = 4096
	}
	r, err := measure(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("on (%s): %.0f req/s, %.1f µs-cpu/call, %.1f allocs/call\n", label(cfg.only), r.rate, r.cpu, r.allocs)
	if memFile == "" {
		return nil
	}
	f, err := os.Create(memFile)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// plugins returns the server and client plugins of cfg (nil, nil: off)
// and a function that shuts their SDK providers down.
func plugins(cfg config) (server.Plugin, client.Plugin, func()) {
	if !cfg.on {
		return nil, nil, func() {}
	}
	sampler := sdktrace.AlwaysSample()
	if cfg.rate < 1 {
		sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.rate))
	}
	topts := []sdktrace.TracerProviderOption{sdktrace.WithSampler(sampler)}
	switch cfg.proc {
	case "batch":
		topts = append(topts, sdktrace.WithBatcher(discard{}))
	case "simple":
		topts = append(topts, sdktrace.WithSyncer(discard{}))
	}
	tp := sdktrace.NewTracerProvider(topts...)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	so := []serverotel.Option{serverotel.WithTracerProvider(tp), serverotel.WithMeterProvider(mp)}
	co := []clientotel.Option{clientotel.WithTracerProvider(tp), clientotel.WithMeterProvider(mp)}
	switch cfg.only {
	case "traces":
		so, co = append(so, serverotel.WithoutMetrics()), append(co, clientotel.WithoutMetrics())
	case "metrics":
		so, co = append(so, serverotel.WithoutTraces()), append(co, clientotel.WithoutTraces())
	}
	return serverotel.New(so...), clientotel.New(co...), func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}
}

// measure runs one configuration for cfg.dur.
func measure(cfg config) (result, error) {
	s := server.NewServer()
	splug, xplug, shutdown := plugins(cfg)
	defer shutdown()
	if splug != nil {
		s.Plugins.Add(splug)
	}
	if err := s.RegisterName("Arith", Arith{}, ""); err != nil {
		return result{}, err
	}
	ln, err := s.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	go func() { _ = s.ServeListener("tcp", ln) }()
	defer s.Close()
	<-s.Started
	d, err := client.NewPeer2PeerDiscovery("tcp@"+ln.Addr().String(), "")
	if err != nil {
		return result{}, err
	}
	xc := client.NewXClient("Arith", cfg.mode, client.RandomSelect, d, client.DefaultOption)
	defer xc.Close()
	if xplug != nil {
		xc.GetPlugins().Add(xplug)
	}
	if err := xc.Call(context.Background(), "Mul", &Args{A: 1, B: 2}, &Reply{}); err != nil { // warm up the connection
		return result{}, err
	}
	return load(xc, cfg)
}

// load runs cfg.conc callers on xc for cfg.dur and returns what they did.
func load(xc client.XClient, cfg config) (result, error) {
	var calls atomic.Int64
	var firstErr atomic.Value
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := stats.CPU()
	start := time.Now()
	stop := start.Add(cfg.dur)
	var wg sync.WaitGroup
	for g := range cfg.conc {
		wg.Go(func() {
			var r Reply
			for time.Now().Before(stop) {
				if err := xc.Call(context.Background(), "Mul", &Args{A: g, B: 3}, &r); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := stats.CPU() - cpu0
	runtime.ReadMemStats(&ms1)
	if e, _ := firstErr.Load().(error); e != nil {
		return result{}, e
	}
	n := float64(calls.Load())
	if n == 0 {
		return result{}, fmt.Errorf("no call completed in %v", cfg.dur)
	}
	return result{rate: n / elapsed.Seconds(), cpu: float64(cpu) / n, allocs: float64(ms1.Mallocs-ms0.Mallocs) / n}, nil
}
