package otelobs

import (
	"context"
	"sync/atomic"

	"github.com/courier-rpc/courier/internal/rpcobs"
	"go.opentelemetry.io/otel/metric"
)

// Instruments are the call metrics of one side ("server" or "client"):
// rpc.<side>.call.duration, rpc.<side>.request.size and
// rpc.<side>.response.size histograms, and courier.<side>.active_calls,
// read from Active when a reader collects (a call pays for an atomic add,
// not for a measurement). Safe for concurrent use.
type Instruments struct {
	Duration metric.Float64Histogram
	ReqSize  metric.Int64Histogram
	ResSize  metric.Int64Histogram
	// Active is the number of calls in progress; the plugins add to it.
	Active atomic.Int64
}

// NewInstruments creates the instruments of side on m; durDesc describes
// the duration histogram. Instrument errors go to OpenTelemetry's error
// handler (the instruments still work).
func NewInstruments(m metric.Meter, side, durDesc string) *Instruments {
	in := &Instruments{}
	in.Duration = Must(m.Float64Histogram("rpc."+side+".call.duration", metric.WithUnit("s"),
		metric.WithDescription(durDesc), metric.WithExplicitBucketBoundaries(rpcobs.DurationBuckets...)))
	in.ReqSize = Must(m.Int64Histogram("rpc."+side+".request.size", metric.WithUnit("By"),
		metric.WithDescription("Payload size of requests."), metric.WithExplicitBucketBoundaries(rpcobs.SizeBuckets...)))
	in.ResSize = Must(m.Int64Histogram("rpc."+side+".response.size", metric.WithUnit("By"),
		metric.WithDescription("Payload size of responses."), metric.WithExplicitBucketBoundaries(rpcobs.SizeBuckets...)))
	ObserveGauge(m, "courier."+side+".active_calls", "{call}", "Calls in progress.", &in.Active)
	return in
}

// Sizes records a request's and (when res is true) a response's payload
// size with the outcome's attributes.
func (in *Instruments) Sizes(ctx context.Context, o *Outcome, req int, res int, hasRes bool) {
	in.ReqSize.Record(ctx, int64(req), o.Record...)
	if hasRes {
		in.ResSize.Record(ctx, int64(res), o.Record...)
	}
}

// ObserveGauge registers an up-down counter named name whose value is read
// from v when a reader collects.
func ObserveGauge(m metric.Meter, name, unit, desc string, v *atomic.Int64) {
	_ = Must(m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(v.Load())
			return nil
		})))
}

// ObserveCounter registers a monotonic counter named name whose value is
// read from v when a reader collects.
func ObserveCounter(m metric.Meter, name, unit, desc string, v *atomic.Int64) {
	_ = Must(m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(v.Load())
			return nil
		})))
}
