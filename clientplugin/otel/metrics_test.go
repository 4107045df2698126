package otel_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// collect returns the data of the metric name (nil when missing).
func collect(t *testing.T, e *env, name string) metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	return nil
}

// histCount returns count and sum of the histogram name over the points
// whose attributes include want.
func histCount(t *testing.T, e *env, name string, want map[string]string) (uint64, float64) {
	t.Helper()
	h, ok := collect(t, e, name).(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is not a float64 histogram", name)
	}
	var n uint64
	var sum float64
	for _, dp := range h.DataPoints {
		if hasAttrs(dp.Attributes, want) {
			n += dp.Count
			sum += dp.Sum
		}
	}
	return n, sum
}

func hasAttrs(set attribute.Set, want map[string]string) bool {
	for k, v := range want {
		got, ok := set.Value(attribute.Key(k))
		if v == "" {
			if ok {
				return false
			}
			continue
		}
		if !ok || got.Emit() != v {
			return false
		}
	}
	return true
}

// 10,000 calls from 100 goroutines: exact counts on both sides, seconds,
// attributes as specified.
func TestMetricsExactCounts(t *testing.T) {
	e := newEnv(t)
	s := server.NewServer()
	s.Plugins.Add(e.serverPlugin())
	addr := serve(t, s, map[string]any{"Arith": new(testutils.Arith)})
	xc := xclient(t, "Arith", client.Failfast, client.DefaultOption, e.clientPlugin(), addr)
	const goroutines, perG = 100, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: g, B: i}, &testutils.Reply{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for range 3 {
		_ = xc.Call(t.Context(), "Div", &testutils.Args{A: 1}, &testutils.Reply{})
	}
	ok := map[string]string{"rpc.system.name": "rpcx", "rpc.method": "Arith/Mul", "rpc.response.status_code": "OK", "error.type": ""}
	for _, name := range []string{"rpc.server.call.duration", "rpc.client.call.duration"} {
		n, sum := histCount(t, e, name, ok)
		if n != goroutines*perG {
			t.Errorf("%s count = %d, want %d", name, n, goroutines*perG)
		}
		if sum <= 0 || sum/float64(n) > 1 {
			t.Errorf("%s mean %v: not seconds", name, sum/float64(n))
		}
		failed := map[string]string{"rpc.method": "Arith/Div", "error.type": "UNKNOWN", "rpc.response.status_code": "UNKNOWN"}
		if n, _ := histCount(t, e, name, failed); n != 3 {
			t.Errorf("%s errors = %d, want 3", name, n)
		}
	}
	for name, want := range map[string]int64{
		"courier.client.attempts": goroutines*perG + 3, "courier.client.retries": 0,
		"courier.client.active_calls": 0, "courier.server.active_calls": 0, "courier.server.connections.open": 1,
	} {
		if got := sumWhere(t, e, name, nil); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
}

// A server whose connection drops trips a threshold-1 breaker: one
// courier.client.breaker.state_changes with state "open".
func TestMetricsBreakerOpens(t *testing.T) {
	e := newEnv(t)
	s := server.NewServer()
	addr := serve(t, s, map[string]any{"Arith": Dropper{}})
	opt := client.DefaultOption
	opt.GenBreaker = func() client.Breaker { return client.NewConsecCircuitBreaker(1, time.Hour) }
	xc := xclient(t, "Arith", client.Failfast, opt, e.clientPlugin(), addr)
	if err := xc.Call(t.Context(), "Mul", &testutils.Args{}, &testutils.Reply{}); err == nil {
		t.Fatal("call to a dropping server succeeded")
	}
	if err := xc.Call(t.Context(), "Mul", &testutils.Args{}, &testutils.Reply{}); !errors.Is(err, client.ErrBreakerOpen) {
		t.Fatalf("second call: %v, want the open breaker", err)
	}
	want := map[string]string{"courier.service": "Arith", "courier.server": "tcp@" + addr, "courier.breaker.state": "open"}
	if got := sumWhere(t, e, "courier.client.breaker.state_changes", want); got != 1 {
		t.Fatalf("breaker openings %d, want 1", got)
	}
}

// sumWhere returns the int64 sum name over the points with attributes
// want; the test fails when the metric is missing.
func sumWhere(t *testing.T, e *env, name string, want map[string]string) int64 {
	t.Helper()
	d, ok := collect(t, e, name).(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is not an int64 sum", name)
	}
	var v int64
	for _, dp := range d.DataPoints {
		if hasAttrs(dp.Attributes, want) {
			v += dp.Value
		}
	}
	return v
}
