package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/client"
)

func cmdBench(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cf connFlags
	cf.register(fs)
	conc := fs.Int("c", 10, "concurrent callers")
	conns := fs.Int("conns", 1, "connections shared by the callers")
	total := fs.Int("n", 10000, "total calls (the run stops at -n or -d, whichever comes first)")
	dur := fs.Duration("d", 30*time.Second, "maximum duration")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		return errUsage
	}
	if *conc < 1 || *conns < 1 || *total < 1 || *dur <= 0 {
		return fmt.Errorf("-c, -conns, -n and -d must be positive")
	}
	payload := []byte("{}")
	if fs.NArg() == 2 {
		payload = []byte(fs.Arg(1))
	}
	if cf.ser == "json" && !json.Valid(payload) {
		return fmt.Errorf("argument is not valid JSON: %s", payload)
	}
	if _, err := cf.request(fs.Arg(0), payload); err != nil {
		return err
	}
	clients := make([]*client.Client, *conns)
	for i := range clients {
		cl, err := cf.dial()
		if err != nil {
			return err
		}
		defer cl.Close()
		clients[i] = cl
	}
	res := runBench(&cf, clients, fs.Arg(0), payload, *conc, int64(*total), *dur)
	res.print(stdout)
	return nil
}

type benchResult struct {
	hist    histogram
	errors  int64
	elapsed time.Duration
	first   error
}

func runBench(cf *connFlags, clients []*client.Client, target string, payload []byte, conc int, total int64, dur time.Duration) *benchResult {
	var (
		issued  atomic.Int64
		errs    atomic.Int64
		mu      sync.Mutex
		res     = &benchResult{}
		wg      sync.WaitGroup
		stopAt  = time.Now().Add(dur)
		started = time.Now()
	)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var h histogram
			cl := clients[w%len(clients)]
			for issued.Add(1) <= total && time.Now().Before(stopAt) {
				req, _ := cf.request(target, payload)
				t0 := time.Now()
				_, _, err := cf.send(cl, req)
				h.record(time.Since(t0))
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						res.first = err
						mu.Unlock()
					}
				}
			}
			mu.Lock()
			res.hist.merge(&h)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(started)
	res.errors = errs.Load()
	return res
}

func (r *benchResult) print(w io.Writer) {
	h := &r.hist
	rps := float64(h.n) / r.elapsed.Seconds()
	fmt.Fprintf(w, "calls %d  errors %d  elapsed %v  throughput %.0f/s\n", h.n, r.errors, r.elapsed.Round(time.Millisecond), rps)
	fmt.Fprintf(w, "latency mean %v  p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		h.mean(), h.quantile(0.50), h.quantile(0.90), h.quantile(0.99), h.quantile(0.999), h.max)
	if r.first != nil {
		fmt.Fprintf(w, "first error: %v\n", r.first)
	}
}
