package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// benchResult is what a run measured.
type benchResult struct {
	f       *benchFlags
	target  string
	hist    *hdrhistogram.Histogram
	errs    map[string]*errCount
	calls   int64
	errors  int64
	elapsed time.Duration
}

func (r *benchResult) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.calls) / r.elapsed.Seconds()
}

// quantiles reported, with their JSON names.
var quantiles = []struct {
	name string
	q    float64
}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}}

// dur renders nanoseconds as a duration rounded to 3 significant digits
// (the histograms' precision).
func dur(ns int64) string {
	d := time.Duration(ns)
	for unit := time.Duration(1); unit < time.Hour; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit).String()
		}
	}
	return d.Round(time.Second).String()
}

func (r *benchResult) print(w io.Writer) {
	h := r.hist
	mode := "closed loop"
	if r.f.rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f/s", r.f.rate)
	}
	fmt.Fprintf(w, "%s: %d callers on %d connection(s), %s\n", r.target, r.f.conc, r.f.conns, mode)
	fmt.Fprintf(w, "calls %d  errors %d  elapsed %v  throughput %.0f/s\n",
		r.calls, r.errors, r.elapsed.Round(time.Millisecond), r.throughput())
	if h.TotalCount() == 0 {
		return
	}
	fmt.Fprintf(w, "latency min %s  mean %s  stddev %s\n", dur(h.Min()), dur(int64(h.Mean())), dur(int64(h.StdDev())))
	parts := make([]string, 0, len(quantiles)+1)
	for _, q := range quantiles {
		parts = append(parts, fmt.Sprintf("%s %s", q.name, dur(h.ValueAtPercentile(q.q))))
	}
	parts = append(parts, fmt.Sprintf("max %s", dur(h.Max())))
	fmt.Fprintf(w, "latency %s\n", strings.Join(parts, "  "))
	fmt.Fprintln(w, "histogram:")
	bars := histogramBars(h, 12)
	var most int64
	for _, b := range bars {
		most = max(most, b.count)
	}
	for _, b := range bars {
		n := 0
		if most > 0 {
			n = int(math.Round(40 * float64(b.count) / float64(most)))
		}
		fmt.Fprintf(w, "  <= %-9s %10d  %s\n", dur(b.upTo), b.count, strings.Repeat("#", n))
	}
	if len(r.errs) > 0 {
		fmt.Fprintln(w, "errors by code:")
		for _, code := range sortedCodes(r.errs) {
			e := r.errs[code]
			fmt.Fprintf(w, "  %-20s %d  (%s)\n", code, e.n, oneLine(e.example))
		}
	}
}

func sortedCodes(errs map[string]*errCount) []string {
	codes := make([]string, 0, len(errs))
	for c := range errs {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if errs[codes[i]].n != errs[codes[j]].n {
			return errs[codes[i]].n > errs[codes[j]].n
		}
		return codes[i] < codes[j]
	})
	return codes
}

type bar struct {
	upTo  int64
	count int64
}

// histogramBars groups the recorded values into at most n buckets whose
// bounds grow geometrically from the minimum to the maximum.
func histogramBars(h *hdrhistogram.Histogram, n int) []bar {
	lo, hi := float64(max(h.Min(), 1)), float64(max(h.Max(), 1))
	if hi <= lo {
		return []bar{{upTo: h.Max(), count: h.TotalCount()}}
	}
	step := math.Pow(hi/lo, 1/float64(n))
	bars := make([]bar, n)
	for i := range bars {
		bars[i].upTo = int64(lo * math.Pow(step, float64(i+1)))
	}
	bars[n-1].upTo = h.Max()
	for _, d := range h.Distribution() {
		if d.Count == 0 {
			continue
		}
		v := d.To
		i := sort.Search(n, func(i int) bool { return bars[i].upTo >= v })
		bars[min(i, n-1)].count += d.Count
	}
	return bars
}

// benchJSON is the -o json result. Latencies are in microseconds.
type benchJSON struct {
	Target       string             `json:"target"`
	Mode         string             `json:"mode"`
	Concurrency  int                `json:"concurrency"`
	Conns        int                `json:"conns"`
	Rate         float64            `json:"rate,omitempty"`
	Calls        int64              `json:"calls"`
	Errors       int64              `json:"errors"`
	ElapsedSec   float64            `json:"elapsed_seconds"`
	Throughput   float64            `json:"throughput"`
	LatencyUs    map[string]float64 `json:"latency_us"`
	Histogram    []benchJSONBar     `json:"histogram"`
	ErrorsByCode map[string]int64   `json:"errors_by_code"`
}

type benchJSONBar struct {
	UpToUs float64 `json:"le_us"`
	Count  int64   `json:"count"`
}

func us(ns int64) float64 { return float64(ns) / 1e3 }

func (r *benchResult) jsonView() benchJSON {
	h := r.hist
	j := benchJSON{Target: r.target, Mode: "closed", Concurrency: r.f.conc, Conns: r.f.conns, Rate: r.f.rate,
		Calls: r.calls, Errors: r.errors, ElapsedSec: r.elapsed.Seconds(), Throughput: r.throughput(),
		LatencyUs: map[string]float64{}, Histogram: []benchJSONBar{}, ErrorsByCode: map[string]int64{}}
	if r.f.rate > 0 {
		j.Mode = "open"
	}
	if h.TotalCount() > 0 {
		j.LatencyUs["min"], j.LatencyUs["mean"], j.LatencyUs["max"] = us(h.Min()), h.Mean()/1e3, us(h.Max())
		for _, q := range quantiles {
			j.LatencyUs[q.name] = us(h.ValueAtPercentile(q.q))
		}
		for _, b := range histogramBars(h, 12) {
			j.Histogram = append(j.Histogram, benchJSONBar{UpToUs: us(b.upTo), Count: b.count})
		}
	}
	for code, e := range r.errs {
		j.ErrorsByCode[code] = e.n
	}
	return j
}
