// Package prometheus exposes what courier XClients do as Prometheus
// metrics: the duration and outcome of every call, and the decisions
// behind them (attempts, retries, hedges, retry-budget refusals, outlier
// ejections, overloaded answers, servers taken out by health checking,
// circuit breaker openings). It is the client-side twin of
// serverplugin/prometheus and, like it, uses
// github.com/prometheus/client_golang directly: one cached histogram
// observation per call, no OpenTelemetry SDK in the main module.
//
// Series (rpc_method is "Service/Method"; service is the XClient's service
// path):
//
//	rpc_client_call_duration_seconds{rpc_system_name,rpc_method,rpc_response_status_code,error_type}  histogram
//	rpc_client_calls_in_flight                    gauge
//	courier_client_calls_total{service}           counters read from XClient.Stats() at scrape time:
//	courier_client_attempts_total{service}        every request sent or tried, retries and hedges included
//	courier_client_retries_total{service}
//	courier_client_transparent_retries_total{service}
//	courier_client_hedges_total{service}
//	courier_client_budget_exhausted_total{service}
//	courier_client_nonidempotent_stops_total{service}
//	courier_client_ejections_total{service}
//	courier_client_overloaded_total{service}
//	courier_client_not_serving_total{service}
//	courier_client_breaker_opens_total{service}
//
// A call is one XClient operation (Call, Go, Oneshot, Broadcast, Fork,
// Inform) however many attempts it took; error_type is empty on success
// and the error code's name on failure (DEADLINE_EXCEEDED, UNKNOWN, ...).
// The counters of XClients of one service are summed. Usage:
//
//	p, err := prometheus.Install(reg, xc)   // reg: a prometheus.Registerer
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
package prometheus
