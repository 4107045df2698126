package main

import (
	"fmt"
	"io"

	"github.com/courier-rpc/courier/benchmarks/internal/load"
)

// floorName is the framework-free protobuf echo every framework is compared
// with (internal/fw/floor.go).
const floorName = "floor"

// floorTable prints every framework's throughput, p99 and CPU per call as
// a multiple of the floor's, paired by repetition like the rpcx ratios.
func floorTable(w io.Writer, t table) {
	printed := false
	for _, l := range t.labels {
		base, ok := t.runs[l][floorName]
		if !ok || base.isIdle() {
			continue
		}
		if !printed {
			fmt.Fprintln(w, "\nRatios to the floor (a framework-free protobuf echo: 4-byte length + ID + protobuf, "+
				"one reader per connection, group-committed writes), paired by repetition, medians. "+
				"Throughput: higher is better (1.00 = the floor); p99 and CPU: lower is better.")
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| scenario | framework | floor req/s | throughput ÷ floor | p99 × floor | CPU/req × floor |")
			fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
			printed = true
		}
		for _, f := range t.fws {
			g, ok := t.runs[l][f]
			if !ok || f == floorName {
				continue
			}
			a, _ := ratio(g, base, rps)
			b, _ := ratio(g, base, p99)
			c, _ := ratio(g, base, cpu)
			fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %.2f | %.2f |\n", l, f, base.med(rps), a, b, c)
		}
	}
}

// floorTargets prints issue 18's targets for courier driven through the
// rpcx-style XClient API ("courier-x"): throughput ≥ 92 % of the floor at
// c=1 and ≥ 85 % at c=100, 1000 and 5000; p99 ≤ 0.4× rpcx at c=100; CPU
// per call (client + server) ≤ 1.25× the floor's.
func floorTargets(w io.Writer, t table) {
	const fwName = "courier-x"
	type row struct{ target, measured, verdict string }
	var rows []row
	add := func(target string, v float64, pass bool, format string) {
		verdict := "MISS"
		if pass {
			verdict = "met"
		}
		rows = append(rows, row{target, fmt.Sprintf(format, v), verdict})
	}
	pair := func(c int, other string) (group, group, bool) {
		l, ok := t.find(c)
		if !ok {
			return nil, nil, false
		}
		g, ok1 := t.runs[l][fwName]
		b, ok2 := t.runs[l][other]
		return g, b, ok1 && ok2
	}
	for _, tc := range []struct {
		c   int
		min float64
	}{{1, 0.92}, {100, 0.85}, {1000, 0.85}, {5000, 0.85}} {
		if g, b, ok := pair(tc.c, floorName); ok {
			if v, ok := ratio(g, b, rps); ok {
				add(fmt.Sprintf("%s throughput ≥ %.0f %% of the floor at c=%d", fwName, tc.min*100, tc.c), v*100, v >= tc.min, "%.0f %%")
			}
		}
	}
	if g, b, ok := pair(100, "rpcx"); ok {
		if v, ok := ratio(g, b, rps); ok {
			add(fmt.Sprintf("%s throughput ≈ 3.0× rpcx at c=100", fwName), v, v >= 3.0, "%.2f×")
		}
		if v, ok := ratio(g, b, p99); ok {
			add(fmt.Sprintf("%s p99 ≤ 0.4× rpcx at c=100", fwName), v, v <= 0.4, "%.2f×")
		}
	}
	for _, c := range []int{100, 1000, 5000} {
		if g, b, ok := pair(c, floorName); ok {
			if v, ok := ratio(g, b, cpu); ok {
				add(fmt.Sprintf("%s CPU per call (client+server) ≤ 1.25× the floor's at c=%d", fwName, c), v, v <= 1.25, "%.2f×")
			}
		}
	}
	for _, l := range t.labels {
		g, ok := t.runs[l]["courier"]
		if !ok || g.mode() != "idle" { // idlehttp's client is a raw HTTP client, not courier's
			continue
		}
		gor := g.med(func(r load.Result) float64 { return r.IdleClientGoroutPerConn })
		add("courier client: 1 goroutine per idle connection", gor, gor <= 1.05, "%.2f")
		mem := g.med(clientIdleMem) / 1024
		add("courier client: ≤ 8 KiB (RSS) per idle connection", mem, mem <= 8, "%.1f KiB")
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nIssue 18 and 17 targets (ratios paired by repetition, medians):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | |")
	fmt.Fprintln(w, "|---|---:|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.target, r.measured, r.verdict)
	}
}
