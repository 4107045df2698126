// Package otel traces and measures a courier client's calls with
// OpenTelemetry. It depends only on the OpenTelemetry API: the program
// installs an SDK.
//
// Added to an XClient's plugins, it records one CLIENT span per XClient
// operation (Call, Go, Oneshot, Broadcast, Fork, Inform), named
// "Service/Method", and one child CLIENT span per attempt on a connection,
// so that a Failover retry, a Failbackup hedge (the loser's span ends with
// the cancellation) or each server of a Broadcast is visible. A Failfast
// Call makes a single attempt, so its call and attempt are one span (with
// courier.fail_mode and server.address); should a refusal that provably
// did not run be retried, the second attempt is that span's child. Added
// to a single Client's plugins, it records one span per call. The attempt's
// span context is written into the request metadata as W3C trace context
// (traceparent, tracestate, baggage), which courier servers and rpcx
// servers with rpcx's OpenTelemetry plugin read. Attributes follow the RPC
// semantic conventions (v1.40+): rpc.system.name, rpc.method,
// rpc.response.status_code (and rpc.status_code), error.type on failure,
// server.address/server.port on attempts; courier.attempt (1, 2, ...) and
// courier.fail_mode. Payloads are never recorded. A span's attributes are
// set right after it starts, only when it records (a sampler sees the
// name and kind; WithStartAttributes gives them at the start instead);
// its status attributes are "OK" then and overridden when the call
// fails. An unsampled call still sends its trace context (traceparent
// flags 00), so that ParentBased samplers downstream agree.
//
// Metrics: rpc.client.call.duration (s, the whole operation, the
// conventions' buckets), rpc.client.request.size and
// rpc.client.response.size (By, per attempt), courier.client.active_calls,
// courier.client.attempts, courier.client.retries (attempts after the
// first of Failover/Failtry) and courier.client.hedges (extra attempts of
// Failbackup), courier.client.breaker.state_changes (with
// courier.service, courier.server and courier.breaker.state "open" or
// "closed", as client.BreakerObserverPlugin reports them). Active calls,
// attempts, retries and hedges are observed from counters the plugin keeps
// when a reader collects: a call pays an atomic add for them, not a
// measurement.
//
// The XClient's decisions no hook sees are exported from its Stats() once
// the XClient is given to Instrument (which also adds the plugin):
// observable counters with the attribute courier.service (the XClient's
// service path; XClients of one service are summed), read when a reader
// collects, nothing per call: courier.client.transparent_retries (an
// extra attempt after a failure that provably did not run),
// courier.client.retry_budget.exhausted (extra attempts the retry budget
// refused), courier.client.nonidempotent_stops (calls not retried because
// their method is non-idempotent), courier.client.ejections (outlier
// ejections), courier.client.overloaded (attempts a server shed),
// courier.client.not_serving (servers that left selection by reporting
// NOT_SERVING) and courier.client.breaker.opens. With the hooks' attempts,
// retries, hedges and breaker changes, every XClientStats counter but
// Calls (rpc.client.call.duration counts the operations) is exported.
//
// Cost: names, attribute slices and metric attribute sets are cached per
// method (at most 4096 methods) and per server address. With the W3C
// propagators (the default) the plugin formats the traceparent itself,
// into its per-attempt state, and its states answer for the current span
// instead of contexts made per span: an unsampled Failtry call costs the
// plugin 4 allocations (two states, the request metadata's new map) and
// the SDK 4 (two non-recording spans and their contexts). The rest of a
// sampled call is the SDK's. benchmarks/RESULTS.md has the measured cost.
//
//	p := otel.New(otel.WithTracerProvider(tp), otel.WithMeterProvider(mp))
//	p.Instrument(xc) // or xc.GetPlugins().Add(p): spans and call metrics, no Stats() counters
package otel
