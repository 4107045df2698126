// Package dashboard serves courier's web dashboard: the services and
// servers of a registry (etcd, ZooKeeper, Consul) or of single servers,
// their metadata as fields, live traffic per server and method from the
// servers' Prometheus /metrics, metadata edits written back to the
// registry in rpcx's layout (take a server out of rotation and back,
// weight, group, tags), and calls of any method from a form built from the
// server's reflection.
//
// The page and its scripts are embedded (go:embed) and load nothing from
// elsewhere, so the dashboard works offline. It updates by polling its own
// JSON API once a second:
//
//	GET  /api/state              services, servers, fields, metrics status and the last minute of traffic
//	GET  /api/traffic?server=K   one server's series per method for the whole window
//	GET  /api/describe?server=K&service=S  the service's reflection (JSON Schema of arguments)
//	POST /api/update             {"service","server","change":{"active","weight","group","tags"},"confirm":true}
//	POST /api/call               {"server","service","method","args","metadata","timeoutMs","serialize"}
//
// Errors are JSON objects {"error": "...", "field": "..."} with a 4xx or
// 5xx status. Writes (update and call) need "confirm": true (update) and,
// when Config.Token is set, the header X-Courier-Token; Serve refuses to
// listen beyond loopback without a token.
//
// Traffic comes from each server's Prometheus text at /metrics on its own
// port (or the URL in its metadata key "metrics"): the histogram
// rpc_server_call_duration_seconds by rpc_method, failed calls having a
// non-empty error_type label. A server without it is shown as having no
// metrics, never as idle.
package dashboard
