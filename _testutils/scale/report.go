package scale

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Dist summarizes durations: how many, the median, the 99th percentile
// and the maximum.
type Dist struct {
	N             int
	P50, P99, Max time.Duration
}

func newDist(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Dist{N: len(ds), P50: at(0.50), P99: at(0.99), Max: ds[len(ds)-1]}
}

// String is "p50 / p99" in milliseconds.
func (d Dist) String() string {
	if d.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s", ms(d.P50), ms(d.P99))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// Result is what one Run measured. Latencies are from the event (the
// Register call, the plugin's Stop, the SIGKILL) until the last of the
// clients' XClients reflected it in its selection.
type Result struct {
	Registry string
	Servers  int
	Procs    int
	Clients  int
	TTL      time.Duration

	// Burst: every child registering its servers at once.
	Burst    Dist
	BurstAll time.Duration // from the first child's start until every client saw every server
	// BurstClientCPU is the CPU time the clients' process used meanwhile.
	BurstClientCPU time.Duration
	// Single: one registration at a time with every other server known.
	Single Dist
	// Deregister: a server's plugin Stop (graceful deregistration).
	Deregister Dist
	// Kill: SIGKILL of a child process hosting Killed servers.
	Kill   Dist
	Killed int

	// Watches is the registry's watch count in steady state (-1: unknown);
	// BurstRate and SteadyRate its received requests per second during the
	// burst and over 5 s with nothing changing (-1: unknown).
	Watches    int64
	BurstRate  float64
	SteadyRate float64
	// BytesPerKnownServer is the clients' growth of live heap plus
	// goroutine stacks per (client, known server) pair: discovery, XClient
	// and selector state; GoroutinesPerKnownServer the same for goroutines.
	BytesPerKnownServer      float64
	GoroutinesPerKnownServer float64
	// UpdatesPerClient is how many server lists each XClient applied.
	UpdatesPerClient float64

	heapEmpty       uint64
	goroutinesEmpty int
}

// Header is the Markdown table header matching Row.
const Header = "| registry | servers (procs) | clients | burst: reg → all clients p50 / p99 | all visible after (clients' CPU) | one reg p50 / p99 | deregister p50 / p99 | SIGKILL → gone p50 / p99 (TTL) | watches | registry req/s burst / steady | client bytes (goroutines) per known server | lists applied per client |\n" +
	"|---|---|---|---|---|---|---|---|---|---|---|---|"

// Row is the result as a Markdown table row.
func (r *Result) Row() string {
	cols := []string{
		r.Registry,
		fmt.Sprintf("%d (%d)", r.Servers, r.Procs),
		fmt.Sprint(r.Clients),
		r.Burst.String(),
		fmt.Sprintf("%s (%s)", ms(r.BurstAll), ms(r.BurstClientCPU)),
		r.Single.String(),
		r.Deregister.String(),
		fmt.Sprintf("%s (%v)", r.Kill, r.TTL),
		known(float64(r.Watches), "%.0f"),
		known(r.BurstRate, "%.0f") + " / " + known(r.SteadyRate, "%.0f"),
		fmt.Sprintf("%.0f (%.2f)", r.BytesPerKnownServer, r.GoroutinesPerKnownServer),
		fmt.Sprintf("%.0f", r.UpdatesPerClient),
	}
	return "| " + strings.Join(cols, " | ") + " |"
}

func known(v float64, format string) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}
