// Command report reads the JSON lines written by cmd/client (from the files
// named as arguments, or stdin) and prints markdown tables: medians per
// scenario and framework, ratios to rpcx paired by repetition, idle
// connection memory, and courier's targets.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/benchmarks/internal/load"
	"github.com/courier-rpc/courier/benchmarks/pb"
	"google.golang.org/protobuf/proto"
)

func main() {
	var rs []load.Result
	var err error
	if len(os.Args) > 1 {
		for _, p := range os.Args[1:] {
			f, e := os.Open(p)
			if e != nil {
				fmt.Fprintln(os.Stderr, "report:", e)
				os.Exit(1)
			}
			more, e := read(f)
			f.Close()
			if e != nil {
				fmt.Fprintf(os.Stderr, "report: %s: %v\n", p, e)
				os.Exit(1)
			}
			rs = append(rs, more...)
		}
	} else if rs, err = read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if len(rs) == 0 {
		fmt.Fprintln(os.Stderr, "report: no results")
		os.Exit(1)
	}
	write(os.Stdout, rs, codecAllocs())
}

func read(r io.Reader) ([]load.Result, error) {
	var rs []load.Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var res load.Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, fmt.Errorf("bad result line %q: %w", line, err)
		}
		rs = append(rs, res)
	}
	return rs, sc.Err()
}

// codecAllocs is what protobuf itself allocates per call on each side
// (one Unmarshal of the 581-byte message: its strings and nested values),
// so that framework allocations can be shown apart. The buffer a Marshal
// returns is not counted here: a framework may marshal into a buffer it
// reuses (courier does), so it is the framework's allocation.
func codecAllocs() float64 {
	args := pb.NewArgs(0)
	b, err := proto.Marshal(args)
	if err != nil {
		return 0
	}
	var m pb.BenchmarkMessage
	return testing.AllocsPerRun(200, func() {
		_ = proto.Unmarshal(b, &m)
	})
}

// group is the runs of one scenario and framework, indexed by rep.
type group map[int]load.Result

type table struct {
	labels []string                    // scenario labels in first-seen order
	fws    []string                    // frameworks, courier and rpcx first
	runs   map[string]map[string]group // label -> framework -> rep -> result
}

func index(rs []load.Result) table {
	t := table{runs: map[string]map[string]group{}}
	seenFw := map[string]bool{}
	for _, r := range rs {
		if t.runs[r.Label] == nil {
			t.runs[r.Label] = map[string]group{}
			t.labels = append(t.labels, r.Label)
		}
		if t.runs[r.Label][r.Framework] == nil {
			t.runs[r.Label][r.Framework] = group{}
		}
		t.runs[r.Label][r.Framework][r.Rep] = r
		seenFw[r.Framework] = true
	}
	rank := map[string]int{"floor": 0, "courier-x": 1, "courier-typed": 2, "courier": 3, "rpcx": 4, "grpc": 5}
	for f := range seenFw {
		t.fws = append(t.fws, f)
	}
	sort.Slice(t.fws, func(i, j int) bool {
		ri, iok := rank[t.fws[i]]
		rj, jok := rank[t.fws[j]]
		if iok != jok {
			return iok
		}
		if ri != rj {
			return ri < rj
		}
		return t.fws[i] < t.fws[j]
	})
	return t
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (g group) med(f func(load.Result) float64) float64 {
	var xs []float64
	for _, r := range g {
		xs = append(xs, f(r))
	}
	return median(xs)
}

// ratio is the median over reps of f(a)/f(b), pairing runs by rep.
func ratio(a, b group, f func(load.Result) float64) (float64, bool) {
	var xs []float64
	for rep, ra := range a {
		rb, ok := b[rep]
		if !ok || f(rb) == 0 {
			continue
		}
		xs = append(xs, f(ra)/f(rb))
	}
	return median(xs), len(xs) > 0
}

func rps(r load.Result) float64     { return r.RPS }
func p99(r load.Result) float64     { return r.P99 }
func p50(r load.Result) float64     { return r.P50 }
func cpu(r load.Result) float64     { return r.ClientCPU + r.ServerCPU }
func idleMem(r load.Result) float64 { return r.IdleRSSPerConn }

func clientIdleMem(r load.Result) float64 { return r.IdleClientRSSPerConn }

func write(w io.Writer, rs []load.Result, codec float64) {
	t := index(rs)
	reps := 0
	for _, l := range t.labels {
		for _, g := range t.runs[l] {
			reps = max(reps, len(g))
		}
	}
	fmt.Fprintf(w, "Medians of %d repetition(s). Latency in µs; CPU in µs per request; allocs per request. "+
		"\"fw allocs\" subtracts protobuf's own %.0f allocs per side (one Unmarshal; the buffer Marshal returns counts as the framework's); "+
		"\"cli/srv reads/writes\": read/write syscalls per request of the client/server process (/proc/PID/io).\n\n", reps, codec)
	fmt.Fprintln(w, "| scenario | framework | req/s | p50 | p99 | p99.9 | max | CPU client | CPU server | CPU total | allocs client | allocs server | fw allocs client | fw allocs server | cli reads | cli writes | srv reads | srv writes | errors |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range t.labels {
		for _, f := range t.fws {
			g, ok := t.runs[l][f]
			if !ok || g.isIdle() {
				continue
			}
			var errs float64
			for _, r := range g {
				errs += float64(r.Errors)
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f |\n",
				l, f, g.med(rps), g.med(func(r load.Result) float64 { return r.P50 }), g.med(p99),
				g.med(func(r load.Result) float64 { return r.P999 }), g.med(func(r load.Result) float64 { return r.Max }),
				g.med(func(r load.Result) float64 { return r.ClientCPU }), g.med(func(r load.Result) float64 { return r.ServerCPU }),
				g.med(cpu), g.med(func(r load.Result) float64 { return r.ClientAllocs }), g.med(func(r load.Result) float64 { return r.ServerAllocs }),
				g.med(func(r load.Result) float64 { return r.ClientAllocs - codec }), g.med(func(r load.Result) float64 { return r.ServerAllocs - codec }),
				g.med(func(r load.Result) float64 { return r.ClientReads }), g.med(func(r load.Result) float64 { return r.ClientWrites }),
				g.med(func(r load.Result) float64 { return r.ServerReads }), g.med(func(r load.Result) float64 { return r.ServerWrites }),
				errs)
		}
	}

	fmt.Fprintln(w, "\nRatios to rpcx, computed per repetition (same rep, run back to back) and then the median taken. "+
		"Throughput: higher is better; p99 and CPU: lower is better.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | framework | throughput × rpcx | p99 × rpcx | CPU/req × rpcx |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	for _, l := range t.labels {
		base, ok := t.runs[l]["rpcx"]
		if !ok || base.isIdle() {
			continue
		}
		for _, f := range t.fws {
			g, ok := t.runs[l][f]
			if !ok || f == "rpcx" {
				continue
			}
			a, _ := ratio(g, base, rps)
			b, _ := ratio(g, base, p99)
			c, _ := ratio(g, base, cpu)
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.2f |\n", l, f, a, b, c)
		}
	}

	idleHeader := false
	for _, l := range t.labels {
		for _, f := range t.fws {
			g, ok := t.runs[l][f]
			if !ok || !g.isIdle() {
				continue
			}
			if !idleHeader {
				fmt.Fprintln(w, "\nIdle connections: server memory growth divided by the connections held (each made one call first; "+
					"idlehttp: one HTTP invoke call on the RPC port, then an idle HTTP/1.1 keep-alive connection, checked still open after the reading; "+
					"its client columns are a raw HTTP client's).")
				fmt.Fprintln(w)
				fmt.Fprintln(w, "| scenario | framework | connections | server RSS/conn (KiB) | heap+stack/conn (KiB) | goroutines/conn | client RSS/conn (KiB) | client heap+stack/conn (KiB) | client goroutines/conn | connect time (s) | errors |")
				fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
				idleHeader = true
			}
			var errs float64
			for _, r := range g {
				errs += float64(r.Errors)
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.1f | %.0f |\n", l, f,
				g.med(func(r load.Result) float64 { return float64(r.Idle) }), g.med(idleMem)/1024,
				g.med(func(r load.Result) float64 { return r.IdleHeapPerConn })/1024,
				g.med(func(r load.Result) float64 { return r.IdleGoroutPerConn }),
				g.med(clientIdleMem)/1024,
				g.med(func(r load.Result) float64 { return r.IdleClientHeapPerConn })/1024,
				g.med(func(r load.Result) float64 { return r.IdleClientGoroutPerConn }),
				g.med(func(r load.Result) float64 { return r.IdleConnectSeconds }), errs)
		}
	}
	floorTable(w, t)
	abTable(w, t)
	targets(w, t, codec)
	floorTargets(w, t)
}

// isIdle reports idle-connection runs (modes "idle" and "idlehttp").
func (g group) isIdle() bool { return g.mode() == "idle" || g.mode() == "idlehttp" }

// mode is the Mode of g's runs.
func (g group) mode() string {
	for _, r := range g {
		return r.Mode
	}
	return ""
}

// errs sums the errors of g's runs.
func (g group) errs() float64 {
	var n float64
	for _, r := range g {
		n += float64(r.Errors)
	}
	return n
}

// find returns the label of the closed-loop, small-message scenario with c
// callers, if any.
func (t table) find(c int) (string, bool) {
	for _, l := range t.labels {
		for _, g := range t.runs[l] {
			for _, r := range g {
				if r.Mode == "closed" && r.Payload == 0 && r.C == c {
					return l, true
				}
			}
		}
	}
	return "", false
}

func targets(w io.Writer, t table, codec float64) {
	cg := func(l string) (group, bool) { g, ok := t.runs[l]["courier"]; return g, ok }
	type row struct{ target, measured, verdict string }
	var rows []row
	add := func(target string, v float64, ok bool, pass bool, format string) {
		if !ok {
			return
		}
		verdict := "MISS"
		if pass {
			verdict = "met"
		}
		rows = append(rows, row{target, fmt.Sprintf(format, v), verdict})
	}
	for _, tc := range []struct {
		c   int
		min float64
	}{{1, 1.3}, {100, 2.0}, {1000, 2.0}} {
		l, ok := t.find(tc.c)
		if !ok {
			continue
		}
		g, ok1 := cg(l)
		if b, ok2 := t.runs[l]["rpcx"]; ok1 && ok2 {
			v, ok := ratio(g, b, rps)
			add(fmt.Sprintf("throughput ≥ %.1f× rpcx at c=%d", tc.min, tc.c), v, ok, v >= tc.min, "%.2f×")
		}
	}
	for _, c := range []int{1, 100, 1000, 5000} {
		l, ok := t.find(c)
		if !ok {
			continue
		}
		g, ok1 := cg(l)
		if b, ok2 := t.runs[l]["grpc"]; ok1 && ok2 {
			v, ok := ratio(g, b, rps)
			add(fmt.Sprintf("throughput ≥ 3× grpc-go at c=%d", c), v, ok, v >= 3, "%.2f×")
		}
	}
	for _, c := range []int{100, 1000} {
		l, ok := t.find(c)
		if !ok {
			continue
		}
		g, ok1 := cg(l)
		if b, ok2 := t.runs[l]["rpcx"]; ok1 && ok2 {
			v, ok := ratio(g, b, p99)
			add(fmt.Sprintf("p99 ≤ 0.5× rpcx at c=%d", c), v, ok, v <= 0.5, "%.2f×")
		}
	}
	for _, c := range []int{1, 100, 1000} {
		l, ok := t.find(c)
		if !ok {
			continue
		}
		if g, ok := cg(l); ok {
			// The CPU target is for loaded runs (rpcx needs ~50-65 µs
			// there); at c=1 both sides spin idle between calls and every
			// framework's CPU per call is several times that.
			if c > 1 {
				v := g.med(cpu)
				add(fmt.Sprintf("CPU per request (client+server) ≤ 30 µs at c=%d", c), v, true, v <= 30, "%.1f µs")
			}
			ca := g.med(func(r load.Result) float64 { return r.ClientAllocs - codec })
			sa := g.med(func(r load.Result) float64 { return r.ServerAllocs - codec })
			add(fmt.Sprintf("≤ 10 framework allocs per call, client, c=%d", c), ca, true, ca <= 10, "%.1f")
			add(fmt.Sprintf("≤ 10 framework allocs per call, server, c=%d", c), sa, true, sa <= 10, "%.1f")
		}
	}
	for _, l := range t.labels {
		if g, ok := cg(l); ok && g.mode() == "idle" {
			v := g.med(idleMem) / 1024
			add("≤ 16 KiB server memory (RSS) per idle connection", v, true, v <= 16, "%.1f KiB")
		}
	}
	for _, l := range t.labels {
		g, ok1 := cg(l)
		b, ok2 := t.runs[l]["rpcx"]
		if !ok1 || !ok2 || g.mode() != "idlehttp" {
			continue
		}
		// Issue 17: no more than rpcx per idle HTTP keep-alive connection,
		// paired by repetition; a run with errors (a failed call, a
		// connection the server closed) fails the target.
		clean := g.errs() == 0 && b.errs() == 0
		heap := func(r load.Result) float64 { return r.IdleHeapPerConn }
		for _, m := range []struct {
			what string
			f    func(load.Result) float64
		}{{"RSS", idleMem}, {"heap+stack", heap}} {
			v, ok := ratio(g, b, m.f)
			if !ok {
				continue
			}
			target := fmt.Sprintf("idle HTTP keep-alive connection: server %s ≤ rpcx's (%.1f vs %.1f KiB)", m.what, g.med(m.f)/1024, b.med(m.f)/1024)
			add(target, v, true, v <= 1 && clean, "%.2f×")
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\ncourier's targets (ratios paired by repetition, medians):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | |")
	fmt.Fprintln(w, "|---|---:|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.target, r.measured, r.verdict)
	}
}
