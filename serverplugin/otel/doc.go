// Package otel traces and measures a courier server's calls with
// OpenTelemetry. It depends only on the OpenTelemetry API: the program
// installs an SDK (or not: then nothing is recorded and little is spent).
//
// Each call served gets a SERVER span named "Service/Method" whose parent
// is the W3C trace context (traceparent, tracestate, baggage) found in the
// request metadata, the same keys rpcx's OpenTelemetry plugin writes, so a
// trace continues across courier and rpcx services. Attributes follow the
// RPC semantic conventions (v1.40+): rpc.system.name ("rpcx"), rpc.method
// ("Service/Method"), rpc.response.status_code (courier's error code name,
// "OK" on success; also as rpc.status_code), error.type on failure,
// server.address/server.port, network.peer.address/network.peer.port;
// courier.oneway on oneway calls. The span status is Error when the call
// fails. Payloads are never recorded. Pushes to clients (SendMessage) get a
// PRODUCER span.
//
// Metrics: rpc.server.call.duration (s, the conventions' buckets),
// rpc.server.request.size and rpc.server.response.size (By, payload
// bytes), courier.server.active_calls, courier.server.connections.open,
// courier.server.calls.refused (calls answered "overloaded"). Active calls
// and open connections are counters the plugin keeps and a reader observes
// when it collects.
//
// Cost: the span name, its attributes (per method and connection; "OK"
// status attributes overridden only when a call fails) and the metric
// attribute sets are cached. The attributes are set right after the span
// starts, and only when it records (WithStartAttributes gives them at the
// start instead, for samplers that decide on them). The W3C trace context
// is read by the plugin's own parser (the same result as
// propagation.TraceContext, which a fuzz test checks), and the parent and
// the call's span are answered by the call's state instead of contexts
// made per call: an unsampled call costs the plugin one allocation (its
// state, which is also its ctx) and the SDK two (its non-recording span
// and the ctx Tracer.Start returns). benchmarks/RESULTS.md has the
// measured cost.
//
//	p := otel.New(otel.WithTracerProvider(tp), otel.WithMeterProvider(mp))
//	s.Plugins.Add(p)
//
// NewOpenTelemetryPlugin(tracer, propagators) is the constructor of rpcx's
// plugin, for source compatibility.
package otel
