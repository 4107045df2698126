package client

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// hedgeResult is the outcome of one of Failbackup's attempts.
type hedgeResult struct {
	err    error
	commit func()
	rtt    time.Duration
}

// hedge runs Failbackup: an attempt, then another one on another server
// each time none has succeeded within the hedge delay (up to Option.Hedges
// extra attempts, never for a non-idempotent method) or as soon as one
// failed with a retryable error (a failure that provably did not run gets
// one more attempt beyond Hedges). The first success wins; the others are
// cancelled when hedge returns. Every extra attempt draws from the budget.
func (x *xClient) hedge(ctx context.Context, serviceMethod string, args interface{}, clone func() (attemptFunc, func())) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	maxExtra, transparent := max(x.option.Hedges, 1), 1
	idem := x.idempotent(serviceMethod)
	tried := map[string]bool{}
	results := make(chan hedgeResult, maxExtra+2)
	pending, extra := 0, 0
	launch := func() error {
		key, err := x.pick(ctx, serviceMethod, args, tried)
		if errors.Is(err, errAllTried) && transparent > 0 {
			key, err = x.pick(ctx, serviceMethod, args, nil) // a single server: ask it again
		}
		if err != nil {
			return err
		}
		tried[key] = true
		fn, commit := clone()
		pending++
		go func() {
			start := time.Now()
			err := x.attempt(ctx, key, serviceMethod, attemptCall{fn: fn})
			results <- hedgeResult{err, commit, time.Since(start)}
		}()
		return nil
	}
	if err := launch(); err != nil {
		return err
	}
	timer := time.NewTimer(x.hedgeDelay(serviceMethod))
	defer timer.Stop()
	var last error
	for {
		select {
		case r := <-results:
			pending--
			if r.err == nil {
				r.commit()
				x.recordLatency(serviceMethod, r.rtt)
				return nil
			}
			last = r.err
			class := classify(ctx, r.err)
			if class == classDone {
				return finalErr(ctx, r.err)
			}
			var counter *atomic.Uint64
			switch {
			case class == classNotRun && transparent > 0:
				transparent--
				counter = &x.stats.transparent
			case class == classMayHaveRun && !idem:
				x.stats.nonIdempotent.Add(1)
			case extra < maxExtra:
				extra++
				counter = &x.stats.retries
			}
			if counter != nil && x.withdraw() && launch() == nil {
				counter.Add(1)
				continue
			}
			if pending == 0 {
				return last
			}
		case <-timer.C:
			if idem && extra < maxExtra && x.withdraw() && launch() == nil {
				extra++
				x.stats.hedges.Add(1)
				timer.Reset(x.hedgeDelay(serviceMethod))
			}
		case <-ctx.Done():
			return finalErr(ctx, last)
		}
	}
}

// hedgeDelay is how long Failbackup waits before its next hedge: the
// method's observed Option.HedgeQuantile latency once 32 calls were
// measured, else BackupLatency.
func (x *xClient) hedgeDelay(serviceMethod string) time.Duration {
	if q := x.option.HedgeQuantile; q > 0 && q < 1 {
		if d, ok := x.latencies(serviceMethod).quantile(q); ok {
			return d
		}
	}
	return max(x.option.BackupLatency, 0)
}

// recordLatency adds a successful call's latency to its method's window
// (only when HedgeQuantile is used).
func (x *xClient) recordLatency(serviceMethod string, d time.Duration) {
	if q := x.option.HedgeQuantile; q > 0 && q < 1 {
		x.latencies(serviceMethod).add(d)
	}
}

func (x *xClient) latencies(serviceMethod string) *latencyWindow {
	if w, ok := x.hedgeLat.Load(serviceMethod); ok {
		return w.(*latencyWindow)
	}
	w, _ := x.hedgeLat.LoadOrStore(serviceMethod, &latencyWindow{})
	return w.(*latencyWindow)
}

// latencyWindow keeps the last 256 latencies of a method; its quantile is
// recomputed every 32 samples. It is safe for concurrent use.
type latencyWindow struct {
	mu      sync.Mutex
	samples [256]time.Duration
	n       int // samples ever added
	cachedQ float64
	cached  time.Duration
	at      int // n when cached was computed
}

func (w *latencyWindow) add(d time.Duration) {
	w.mu.Lock()
	w.samples[w.n%len(w.samples)] = d
	w.n++
	w.mu.Unlock()
}

// quantile returns the q-quantile of the window, false before 32 samples.
func (w *latencyWindow) quantile(q float64) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n < 32 {
		return 0, false
	}
	if w.cachedQ != q || w.n-w.at >= 32 {
		s := slices.Clone(w.samples[:min(w.n, len(w.samples))])
		slices.Sort(s)
		w.cached, w.cachedQ, w.at = s[int(q*float64(len(s)-1))], q, w.n
	}
	return w.cached, true
}
