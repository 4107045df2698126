package prometheus

import (
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/internal/xstats"
	prom "github.com/prometheus/client_golang/prometheus"
)

// statNames are the courier_client_<name>_total counters, each with its
// help text and the XClientStats field it reads.
var statNames = []struct {
	name, help string
	get        func(*client.XClientStats) uint64
}{
	{"calls", "XClient calls (Call, Go, SendRaw, Fork).", func(s *client.XClientStats) uint64 { return s.Calls }},
	{"attempts", "Requests sent to a server or tried (a failed dial counts), retries and hedges included.", func(s *client.XClientStats) uint64 { return s.Attempts }},
	{"retries", "Extra attempts after a failure, transparent ones excluded.", func(s *client.XClientStats) uint64 { return s.Retries }},
	{"transparent_retries", "Extra attempts on another server after a failure that provably did not run.", func(s *client.XClientStats) uint64 { return s.TransparentRetries }},
	{"hedges", "Extra requests sent while others were running (Failbackup) and extra servers asked by Fork.", func(s *client.XClientStats) uint64 { return s.Hedges }},
	{"budget_exhausted", "Extra attempts the retry budget refused.", func(s *client.XClientStats) uint64 { return s.BudgetExhausted }},
	{"nonidempotent_stops", "Calls not retried because their method is non-idempotent and may have run.", func(s *client.XClientStats) uint64 { return s.NonIdempotentStops }},
	{"ejections", "Servers taken out of selection as outliers.", func(s *client.XClientStats) uint64 { return s.Ejections }},
	{"overloaded", "Attempts refused by an overloaded server.", func(s *client.XClientStats) uint64 { return s.Overloaded }},
	{"not_serving", "Servers taken out of selection because they reported NOT_SERVING.", func(s *client.XClientStats) uint64 { return s.NotServing }},
	{"breaker_opens", "Times a server's circuit breaker opened.", func(s *client.XClientStats) uint64 { return s.BreakerOpens }},
}

var statDescs = func() []*prom.Desc {
	out := make([]*prom.Desc, len(statNames))
	for i, s := range statNames {
		out[i] = prom.NewDesc("courier_client_"+s.name+"_total", s.help, []string{"service"}, nil)
	}
	return out
}()

// statGetters are statNames' getters, in the same order.
var statGetters = func() []xstats.Getter {
	out := make([]xstats.Getter, len(statNames))
	for i, s := range statNames {
		out[i] = s.get
	}
	return out
}()

// statsCollector exports the Stats() of the instrumented XClients at
// scrape time, summed per service path.
type statsCollector struct {
	xs xstats.Set
}

// add records x and reports whether it is new.
func (c *statsCollector) add(x client.XClient) bool {
	_, added := c.xs.Add(x)
	return added
}

// Describe sends the descriptors of the counters.
func (c *statsCollector) Describe(ch chan<- *prom.Desc) {
	for _, d := range statDescs {
		ch <- d
	}
}

// Collect sends the counters' current values, one series per service.
func (c *statsCollector) Collect(ch chan<- prom.Metric) {
	services, sums := c.xs.Sums(statGetters)
	for i, service := range services {
		for j, v := range sums[i] {
			ch <- prom.MustNewConstMetric(statDescs[j], prom.CounterValue, float64(v), service)
		}
	}
}
