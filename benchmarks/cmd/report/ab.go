package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// abTable prints, for results of ab.sh (frameworks named "NAME@A" and
// "NAME@B"), B ÷ A paired by repetition: throughput, p50, p99 and CPU per
// call, with the range over repetitions of the throughput ratio.
func abTable(w io.Writer, t table) {
	printed := false
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
}
