package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/hist"
)

// callFn makes one call; n is its sequence number.
type callFn func(ctx context.Context, n int) error

// outcome is what a load run measured: latencies of successful calls,
// calls made and failed, and the run's length.
type outcome struct {
	lat     hist.Histogram
	calls   atomic.Int64
	errors  atomic.Int64
	dropped atomic.Int64 // open loop: calls not started (too many outstanding)
	offered int64        // open loop: calls scheduled
	elapsed time.Duration
}

func (o *outcome) goodput() float64 {
	return float64(o.calls.Load()-o.errors.Load()) / o.elapsed.Seconds()
}

// rate is the open loop's offered calls per second.
func (o *outcome) rate() float64 { return float64(o.offered) / o.elapsed.Seconds() }

func (o *outcome) p(q float64) time.Duration { return o.lat.Quantile(q) }

// closedLoop runs c callers back to back for d; each call may take at
// most timeout.
func closedLoop(c int, d, timeout time.Duration, call callFn) *outcome {
	o := &outcome{}
	o.closedLoop(c, d, timeout, call)
	return o
}

// closedLoop adds to o a run of c callers back to back for d.
func (o *outcome) closedLoop(c int, d, timeout time.Duration, call callFn) {
	var seq atomic.Int64
	seq.Store(o.calls.Load())
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				o.one(call, int(seq.Add(1)), time.Now(), timeout)
			}
		}()
	}
	wg.Wait()
	o.elapsed += time.Since(start)
}

// openLoop starts rate calls per second for d whatever the answers, each
// on its own goroutine, at most maxOut outstanding (the rest are counted
// as dropped). Latency counts from each call's scheduled time, so a slow
// server cannot hide its queue (no coordinated omission).
func openLoop(rate float64, d, timeout time.Duration, maxOut int64, call callFn) *outcome {
	o := &outcome{}
	o.openLoop(rate, d, timeout, maxOut, call)
	return o
}

// openLoop adds to o an open-loop run at rate for d.
func (o *outcome) openLoop(rate float64, d, timeout time.Duration, maxOut int64, call callFn) {
	var out atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	total := int(rate * d.Seconds())
	for i := range total {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if w := time.Until(at); w > 0 {
			time.Sleep(w) // pacing the generator, not waiting for a server
		}
		if out.Load() >= maxOut {
			o.dropped.Add(1)
			continue
		}
		out.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer out.Add(-1)
			o.one(call, i, at, timeout)
		}()
	}
	wg.Wait()
	o.elapsed += d
	o.offered += int64(total)
}

// one makes a call scheduled at at and records it.
func (o *outcome) one(call callFn, n int, at time.Time, timeout time.Duration) {
	ctx, cancel := context.WithDeadline(context.Background(), at.Add(timeout))
	err := call(ctx, n)
	cancel()
	o.calls.Add(1)
	if err != nil {
		o.errors.Add(1)
		return
	}
	o.lat.Record(time.Since(at))
}
