// Command overload runs the overload-protection scenarios of courier
// against rpcx v1.9.1, in one process on 127.0.0.1, each bounded in time:
//
//  1. slow server: P2C vs random and round robin vs rpcx, p99 latency
//     (P2C and its baseline side by side, taking turns, -rounds times);
//  2. overload: one server offered 3x its peak, with and without the
//     adaptive limiter, and rpcx: goodput, p99, recovery (each row against
//     the server's peak and unloaded p99 measured in the same seconds: in
//     turns for the limiter rows, -rounds rounds of the limiter row;
//     before and after for the others);
//  3. retry storm: one server resets every connection, Failover with
//     Retries=3: attempts per call with and without the retry budget;
//  4. brown-out: one server answers "overloaded": its share of requests.
//
// It prints a markdown report (the tables of benchmarks/RESULTS.md) with a
// PASS/FAIL line per target and exits 1 if a target failed.
//
//	go run ./cmd/overload [-dur 3s] [-only 1,2,3,4] [-rounds 3] [-slots 4 -hold 4ms] [-pair-only] [-cpuprofile f] [-mutexprofile f]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	clog "github.com/courier-rpc/courier/log"
	rlog "github.com/smallnest/rpcx/log"
)

func main() {
	defer func() { os.Exit(exit) }()
	run()
}

func run() {
	dur := flag.Duration("dur", 3*time.Second, "measured window of each run (scenario 4 always runs 1s)")
	only := flag.String("only", "1,2,3,4", "scenarios to run, comma-separated")
	pairOnly := flag.Bool("pair-only", false, "scenario 1: only P2C and its baseline (for A/B runs)")
	flag.IntVar(&capacityServer.capacity, "slots", capacityServer.capacity, "scenario 2: calls the server runs at once")
	flag.DurationVar(&capacityServer.hold, "hold", capacityServer.hold, "scenario 2: how long each call holds its slot")
	rounds := flag.Int("rounds", 3, "scenario 1: rounds of P2C and its baseline; scenario 2: rounds of the limiter row")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	mutexprofile := flag.String("mutexprofile", "", "write a mutex contention profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "overload: -cpuprofile: %v\n", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if *mutexprofile != "" {
		runtime.SetMutexProfileFraction(1)
		defer writeProfile("mutex", *mutexprofile)
	}
	clog.SetDummyLogger()
	rlog.SetDummyLogger()
	scenarios := map[string]func(time.Duration) (*report, error){
		"1": func(d time.Duration) (*report, error) { return slowServer(d, max(*rounds, 1), *pairOnly) },
		"2": func(d time.Duration) (*report, error) { return overload(d, max(*rounds, 1)) },
		"3": retryStorm, "4": brownOut,
	}
	failed := false
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("Overload scenarios, %s, GOMAXPROCS=%d, %s, run at %s, load average at start %s\n\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.GOARCH,
		time.Now().UTC().Format("2006-01-02 15:04Z"), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	for _, id := range strings.Split(*only, ",") {
		run, ok := scenarios[strings.TrimSpace(id)]
		if !ok {
			fmt.Fprintf(os.Stderr, "overload: unknown scenario %q\n", id)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "scenario %s...\n", id)
		r, err := run(*dur)
		if err != nil {
			fmt.Fprintf(os.Stderr, "overload: scenario %s: %v\n", id, err)
			os.Exit(1)
		}
		fmt.Printf("### %s\n\n%s\n%s\n\n", r.title, r.head, strings.Join(r.rows, "\n"))
		for _, c := range r.checks {
			fmt.Printf("- %s\n", c)
			failed = failed || strings.HasPrefix(c, "FAIL")
		}
		fmt.Println()
	}
	if failed {
		exit = 1
	}
}

// exit is main's exit status, set before its deferred profile writers run.
var exit int

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "overload: -%sprofile: %v\n", name, err)
	}
}
