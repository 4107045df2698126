package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/courier-rpc/courier/benchmarks/internal/load"
)

// abTable prints, for results of ab.sh (frameworks named "NAME@A" and
// "NAME@B"), B ÷ A paired by repetition: throughput, p50, p99 and CPU per
// call, with the range over repetitions of the throughput ratio; for idle
// scenarios, B ÷ A of the server's memory per connection.
func abTable(w io.Writer, t table) {
	printed := false
	var idleAB []idlePair
	for _, l := range t.labels {
		var names []string
		for f := range t.runs[l] {
			if base, ok := strings.CutSuffix(f, "@A"); ok {
				names = append(names, base)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			a, b := t.runs[l][n+"@A"], t.runs[l][n+"@B"]
			if b == nil || a.isIdle() {
				idleAB = append(idleAB, idlePair{l, n, a, b})
				continue
			}
			if !printed {
				fmt.Fprintln(w, "\nA/B: B ÷ A per repetition (A and B run back to back, order alternating), then the median; "+
					"throughput range is min..max over repetitions.")
				fmt.Fprintln(w)
				fmt.Fprintln(w, "| scenario | framework | reps | req/s A | req/s B | throughput B÷A | range | p50 B÷A | p99 B÷A | CPU/call B÷A |")
				fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|---:|---:|---:|")
				printed = true
			}
			var xs []float64
			for rep, ra := range a {
				if rb, ok := b[rep]; ok && ra.RPS > 0 {
					xs = append(xs, rb.RPS/ra.RPS)
				}
			}
			lo, hi := 0.0, 0.0
			for i, x := range xs {
				if i == 0 || x < lo {
					lo = x
				}
				if x > hi {
					hi = x
				}
			}
			tp, _ := ratio(b, a, rps)
			p50r, _ := ratio(b, a, p50)
			p99r, _ := ratio(b, a, p99)
			c, _ := ratio(b, a, cpu)
			fmt.Fprintf(w, "| %s | %s | %d | %.0f | %.0f | %.3f | %.2f..%.2f | %.2f | %.2f | %.2f |\n",
				l, n, len(xs), a.med(rps), b.med(rps), tp, lo, hi, p50r, p99r, c)
		}
	}
	abIdleTable(w, idleAB)
}

// idlePair is one idle scenario's A and B runs of one framework.
type idlePair struct {
	label, name string
	a, b        group
}

// abIdleTable prints B ÷ A of the server's memory per idle connection,
// paired by repetition.
func abIdleTable(w io.Writer, ps []idlePair) {
	heap := func(r load.Result) float64 { return r.IdleHeapPerConn }
	printed := false
	for _, p := range ps {
		if p.b == nil {
			continue
		}
		rss, ok1 := ratio(p.b, p.a, idleMem)
		hs, ok2 := ratio(p.b, p.a, heap)
		if !ok1 || !ok2 {
			continue
		}
		if !printed {
			fmt.Fprintln(w, "\nA/B idle: server memory per idle connection, B ÷ A per repetition, then the median.")
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| scenario | framework | reps | RSS/conn A (KiB) | RSS/conn B (KiB) | RSS B÷A | heap+stack/conn A (KiB) | heap+stack/conn B (KiB) | heap+stack B÷A | errors A+B |")
			fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
			printed = true
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.2f | %.2f | %.3f | %.2f | %.2f | %.3f | %.0f |\n", p.label, p.name, min(len(p.a), len(p.b)),
			p.a.med(idleMem)/1024, p.b.med(idleMem)/1024, rss, p.a.med(heap)/1024, p.b.med(heap)/1024, hs, p.a.errs()+p.b.errs())
	}
}
