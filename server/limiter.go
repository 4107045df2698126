package server

import (
	"math"
	"sync"
	"time"
)

// Limiter decides how many requests a server runs at once. The server asks
// Limit before it admits a request and reports every finished request to
// Observe. Implementations must be safe for concurrent use; Limit is called
// at least once per request (and again for each queued request whenever
// slots are freed), so it should be cheap.
type Limiter interface {
	// Limit returns the number of requests that may run at once (at least 1).
	Limit() int
	// Observe reports a finished request: how long it ran and how many
	// requests were running when it was admitted (itself included).
	Observe(rtt time.Duration, inflight int)
}

// GradientConfig configures NewGradientLimiter. Zero fields take the
// defaults written beside them.
type GradientConfig struct {
	// Initial is the limit before any sample. Default 20.
	Initial int
	// Min is the lowest limit. Default 4.
	Min int
	// Max is the highest limit. Default 1000.
	Max int
	// Tolerance is how much slower than the no-load latency a window may
	// be before the limit shrinks. Default 2 (twice as slow).
	Tolerance float64
	// Smoothing weights each new limit against the previous one (0..1].
	// Default 0.2.
	Smoothing float64
	// Window is the number of samples averaged into one latency
	// measurement. Default 20.
	Window int
	// ProbeEvery is the number of windows between no-load probes, when
	// the limit drops to Min for two windows to measure the latency of an
	// unqueued server again. Default 200.
	ProbeEvery int
	// Queue returns the headroom added to the limit at each window, which
	// lets the limit grow while latency stays within Tolerance. Default
	// the square root of the limit.
	Queue func(limit float64) float64
}

// GradientLimiter is an adaptive concurrency limit of the gradient family
// (Netflix's concurrency-limits "gradient"): it tracks the no-load latency
// (the lowest window average, moved toward the average of windows where
// at most half the limit was in flight, and drifting up very slowly under
// load so a lasting slowdown is followed) and, at the end of each window of samples,
// sets
//
//	gradient = clamp(Tolerance*noLoad/window average, 0.5, 1)
//	limit    = (1-Smoothing)*limit + Smoothing*(limit*gradient + Queue(limit))
//
// so the limit grows while latency stays near the no-load latency and
// shrinks, at most by half per window, as soon as requests queue. Windows
// where fewer than half the limit were in flight do not grow it (the
// server was not the bottleneck). It is safe for concurrent use.
type GradientLimiter struct {
	cfg GradientConfig

	mu     sync.Mutex // guards the fields below and limit's writes
	limit  float64
	noLoad float64 // seconds; 0: unknown
	sum    float64 // seconds in the current window
	n      int
	peak   int // largest inflight reported in the current window
	cached int

	windows int     // windows completed
	probing int     // windows left in the current no-load probe
	saved   float64 // the limit before the probe
}

// NewGradientLimiter returns a GradientLimiter configured by cfg (zero
// fields take their defaults; Min > Max is corrected to Min = Max).
func NewGradientLimiter(cfg GradientConfig) *GradientLimiter {
	if cfg.Min <= 0 {
		cfg.Min = 4
	}
	if cfg.Max <= 0 {
		cfg.Max = 1000
	}
	cfg.Min = min(cfg.Min, cfg.Max)
	if cfg.Initial <= 0 {
		cfg.Initial = 20
	}
	cfg.Initial = max(cfg.Min, min(cfg.Initial, cfg.Max))
	if cfg.Tolerance < 1 {
		cfg.Tolerance = 2
	}
	if cfg.Smoothing <= 0 || cfg.Smoothing > 1 {
		cfg.Smoothing = 0.2
	}
	if cfg.Window <= 0 {
		cfg.Window = 20
	}
	if cfg.ProbeEvery < 20 {
		cfg.ProbeEvery = 200
	}
	if cfg.Queue == nil {
		cfg.Queue = math.Sqrt
	}
	return &GradientLimiter{cfg: cfg, limit: float64(cfg.Initial), cached: cfg.Initial}
}

// Limit returns the current limit.
func (l *GradientLimiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cached
}

// Observe adds a sample; every Window samples the limit is recomputed.
func (l *GradientLimiter) Observe(rtt time.Duration, inflight int) {
	if rtt <= 0 {
		rtt = time.Nanosecond
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sum += rtt.Seconds()
	l.n++
	l.peak = max(l.peak, inflight)
	if l.n < l.cfg.Window {
		return
	}
	avg := l.sum / float64(l.n)
	peak := l.peak
	l.sum, l.n, l.peak = 0, 0, 0
	l.windows++
	if l.probeStep(avg) {
		return
	}
	if l.noLoad == 0 || avg < l.noLoad {
		l.noLoad = avg
	}
	gradient := max(0.5, min(1, l.cfg.Tolerance*l.noLoad/avg))
	next := l.limit*gradient + l.cfg.Queue(l.limit)
	if gradient >= 1 && float64(peak) < l.limit/2 {
		next = l.limit // not the bottleneck: do not grow
	}
	next = (1-l.cfg.Smoothing)*l.limit + l.cfg.Smoothing*next
	l.setLimit(next)
}

func (l *GradientLimiter) setLimit(v float64) {
	l.limit = max(float64(l.cfg.Min), min(v, float64(l.cfg.Max)))
	l.cached = int(l.limit)
}

// probeStep runs the no-load probe: every ProbeEvery windows (the first
// after a tenth of that) the limit drops to Min for two windows, and the
// average of the second one, where no request queued behind the old limit
// any more, becomes the no-load latency; then the limit is restored. It
// reports whether the window belonged to a probe.
func (l *GradientLimiter) probeStep(avg float64) bool {
	switch {
	case l.probing == 2:
		l.probing = 1
		return true
	case l.probing == 1:
		l.probing = 0
		l.noLoad = avg
		l.setLimit(l.saved)
		return true
	case l.windows == max(l.cfg.ProbeEvery/10, 2) || l.windows%l.cfg.ProbeEvery == 0:
		l.probing, l.saved = 2, l.limit
		l.setLimit(float64(l.cfg.Min))
		return true
	}
	return false
}
