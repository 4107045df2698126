package otel

import (
	"context"
	"errors"
	"sync"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/internal/otelobs"
	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/internal/xstats"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ErrNilXClient is returned by Instrument for a nil XClient.
var ErrNilXClient = errors.New("otel: nil XClient")

// statCounters are the observable counters read from XClient.Stats() of the
// XClients given to Instrument: the XClient's decisions that no hook
// sees (a budget refusal, an ejection, a server leaving selection).
var statCounters = []struct {
	name, unit, desc string
	get              xstats.Getter
}{
	{"courier.client.transparent_retries", "{attempt}",
		"Extra attempts on another server after a failure that provably did not run (a failed dial, an overloaded refusal); courier.client.retries counts them too when the refused request was sent.",
		func(s *client.XClientStats) uint64 { return s.TransparentRetries }},
	{"courier.client.retry_budget.exhausted", "{attempt}",
		"Extra attempts (retries, transparent retries, hedges) the retry budget refused.",
		func(s *client.XClientStats) uint64 { return s.BudgetExhausted }},
	{"courier.client.nonidempotent_stops", "{call}",
		"Calls not retried because their method is non-idempotent and the failed attempt may have run.",
		func(s *client.XClientStats) uint64 { return s.NonIdempotentStops }},
	{"courier.client.ejections", "{ejection}",
		"Servers taken out of selection as outliers.",
		func(s *client.XClientStats) uint64 { return s.Ejections }},
	{"courier.client.overloaded", "{attempt}",
		"Attempts refused by an overloaded server (shed requests).",
		func(s *client.XClientStats) uint64 { return s.Overloaded }},
	{"courier.client.not_serving", "{server}",
		"Servers taken out of selection because they reported NOT_SERVING (client-side health checking).",
		func(s *client.XClientStats) uint64 { return s.NotServing }},
	{"courier.client.breaker.opens", "{open}",
		"Times a server's circuit breaker opened (tripped, or re-opened after its half-open trial).",
		func(s *client.XClientStats) uint64 { return s.BreakerOpens }},
}

// instrumented are the XClients whose Stats() the plugin exports, and the
// attribute option of each service path (attrs, guarded by mu); the
// callback runs when a reader collects, never on a call's path.
type instrumented struct {
	xs    xstats.Set
	mu    sync.Mutex
	attrs map[string]metric.ObserveOption
}

// Instrument adds the plugin to x's plugins (unless it is there already)
// and exports x.Stats() as the observable counters
// courier.client.transparent_retries, courier.client.retry_budget.exhausted,
// courier.client.nonidempotent_stops, courier.client.ejections,
// courier.client.overloaded, courier.client.not_serving and
// courier.client.breaker.opens, with the attribute courier.service (x's
// service path from client.Introspector; "" for other XClient
// implementations). XClients of one service path are summed into one
// series each. Instrumenting x twice exports it once. x stays exported
// after it is closed (its counters stay at their last values), so that
// the counters never go down. With WithoutMetrics it only adds the
// plugin. Errors: ErrNilXClient.
func (p *OpenTelemetryPlugin) Instrument(x client.XClient) error {
	if x == nil {
		return ErrNilXClient
	}
	if p.xs.add(x) && !hasPlugin(x.GetPlugins(), p) {
		x.GetPlugins().Add(p)
	}
	return nil
}

// hasPlugin reports whether pc holds p.
func hasPlugin(pc client.PluginContainer, p client.Plugin) bool {
	for _, q := range pc.All() {
		if q == p {
			return true
		}
	}
	return false
}

// add records x and reports whether it is new.
func (in *instrumented) add(x client.XClient) bool {
	service, added := in.xs.Add(x)
	if !added {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.attrs == nil {
		in.attrs = map[string]metric.ObserveOption{}
	}
	if _, ok := in.attrs[service]; !ok {
		in.attrs[service] = metric.WithAttributeSet(attribute.NewSet(attribute.String(rpcobs.KeyService, service)))
	}
	return true
}

// register creates the observable counters of statCounters on m and the one
// callback that reads every instrumented XClient's Stats() once per
// collection.
func (in *instrumented) register(m metric.Meter) {
	counters := make([]metric.Int64ObservableCounter, len(statCounters))
	obs := make([]metric.Observable, len(statCounters))
	getters := make([]xstats.Getter, len(statCounters))
	for i, s := range statCounters {
		counters[i] = otelobs.Must(m.Int64ObservableCounter(s.name, metric.WithUnit(s.unit), metric.WithDescription(s.desc)))
		obs[i] = counters[i]
		getters[i] = s.get
	}
	_ = otelobs.Must(m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		services, sums := in.xs.Sums(getters)
		in.mu.Lock()
		defer in.mu.Unlock()
		for i, service := range services {
			for j, v := range sums[i] {
				o.ObserveInt64(counters[j], int64(v), in.attrs[service])
			}
		}
		return nil
	}, obs...))
}
