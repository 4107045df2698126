// Command client is the load generator. It runs one closed-loop, open-loop
// (-rate), idle-connection (-idle) or idle HTTP keep-alive (-idle -http)
// measurement against a server started by cmd/server and prints a one-line
// summary on stderr and, with -json, the full result as one JSON line on
// stdout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/fw"
	"github.com/courier-rpc/courier/benchmarks/internal/load"
)

func main() {
	var (
		name     = flag.String("framework", "courier", "framework: one of "+fmt.Sprint(fw.Names()))
		addr     = flag.String("addr", "", "server RPC address (host:port)")
		st       = flag.String("stats", "", "server stats address (host:port); empty skips server CPU/allocs")
		label    = flag.String("label", "", "scenario label copied into the result")
		rep      = flag.Int("rep", 0, "repetition number copied into the result")
		c        = flag.Int("c", 100, "concurrent callers")
		pool     = flag.Int("pool", 10, "connections shared by the callers")
		d        = flag.Duration("d", 5*time.Second, "measured window (always bounded)")
		n        = flag.Uint64("n", 0, "requests in the window; 0: only -d bounds it")
		warmup   = flag.Duration("warmup", time.Second, "unmeasured load before the window")
		rate     = flag.Float64("rate", 0, "open loop: total calls per second (latency from intended start); 0: closed loop")
		payload  = flag.Int("payload", 0, "bytes in Field4 (e.g. 1048576); 0: the 581-byte message")
		deadline = flag.Duration("deadline", 0, "give every call its own deadline this far ahead (sent to the server by courier and grpc); 0: none")
		idle     = flag.Int("idle", 0, "idle mode: hold this many connections open and report server memory per connection")
		idleHTTP = flag.Bool("http", false, "with -idle: each connection makes its one call as an HTTP invoke (POST with X-RPCX-* headers) and stays open as an HTTP/1.1 keep-alive connection (courier, rpcx)")
		asJSON   = flag.Bool("json", false, "print the result as one JSON line on stdout")
		cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the client over the measured window to this file")
	)
	flag.Parse()
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "client: -addr is required")
		os.Exit(2)
	}
	var res load.Result
	var err error
	if *idle > 0 {
		cfg := load.IdleConfig{Framework: *name, Addr: *addr, StatsAddr: *st, Label: *label, Rep: *rep, N: *idle}
		if *idleHTTP {
			res, err = load.RunIdleHTTP(cfg)
		} else {
			res, err = load.RunIdle(cfg)
		}
	} else {
		res, err = load.Run(load.Config{
			Framework: *name, Addr: *addr, StatsAddr: *st, Label: *label, Rep: *rep,
			C: *c, Pool: *pool, Duration: *d, N: *n, Warmup: *warmup, Rate: *rate, Payload: *payload, Deadline: *deadline,
			OnWindow: profileWindow(*cpuprof),
		})
	}
	if err != nil && res.Framework == "" {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, load.Summary(res))
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// profileWindow returns a load.Config.OnWindow that profiles the client's
// CPU into path, or nil when path is empty.
func profileWindow(path string) func(bool) {
	if path == "" {
		return nil
	}
	var f *os.File
	return func(open bool) {
		if open {
			var err error
			if f, err = os.Create(path); err != nil {
				fmt.Fprintln(os.Stderr, "client: cpuprofile:", err)
				return
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, "client: cpuprofile:", err)
				f.Close()
				f = nil
			}
			return
		}
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
	}
}
