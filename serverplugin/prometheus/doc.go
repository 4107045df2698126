// Package prometheus exposes a courier server's calls as Prometheus
// metrics, in the OpenMetrics text format at GET /metrics on the server's
// own port (which also speaks HTTP) or on an admin address.
//
// It uses github.com/prometheus/client_golang directly rather than the
// OpenTelemetry SDK with its Prometheus exporter: a call costs one cached
// histogram observation and no attribute-set building or SDK aggregation,
// the main module then depends only on the OpenTelemetry API (never its
// SDK), and the series are plain Prometheus histograms with the names the
// dashboard and alert rules use. Programs that already run the OTel SDK can
// use serverplugin/otel's metrics instead; both may run side by side.
//
// Series (the rpc_method label is "Service/Method", or "_OTHER" for methods
// the server does not have):
//
//	rpc_server_call_duration_seconds{rpc_system_name,rpc_method,rpc_response_status_code,error_type}  histogram
//	rpc_server_request_size_bytes{rpc_method}   histogram (payload bytes)
//	rpc_server_response_size_bytes{rpc_method}  histogram (payload bytes)
//	rpc_server_calls_in_flight                  gauge
//	rpc_server_connections_open                 gauge
//	courier_server_*_total                      counters from Server.Stats()
//
// error_type is empty on success and the error code's name on failure
// (DEADLINE_EXCEEDED, OVERLOADED, UNKNOWN, ...). Usage:
//
//	p, err := prometheus.Install(s)       // plugin + GET /metrics on s's port
//	go p.ListenAndServe(ctx, "127.0.0.1:9100") // optionally, an admin address too
package prometheus
