package server

import (
	"testing"
	"time"
)

// feed reports n samples of rtt at inflight to l.
func feed(l Limiter, n int, rtt time.Duration, inflight int) {
	for range n {
		l.Observe(rtt, inflight)
	}
}

func TestGradientLimiterDefaults(t *testing.T) {
	t.Parallel()
	l := NewGradientLimiter(GradientConfig{Min: 50, Max: 10})
	if got := l.Limit(); got != 10 {
		t.Fatalf("Min > Max: limit %d, want 10", got)
	}
	if got := NewGradientLimiter(GradientConfig{}).Limit(); got != 20 {
		t.Fatalf("default initial limit %d, want 20", got)
	}
}

func TestGradientLimiterSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(l *GradientLimiter)
		cmp  func(before, after int) bool
		want string
	}{
		{"app-limited does not grow", func(l *GradientLimiter) { feed(l, 200, time.Millisecond, 2) },
			func(b, a int) bool { return a == b }, "unchanged"},
		{"saturated at no-load latency grows", func(l *GradientLimiter) { feed(l, 200, time.Millisecond, 20) },
			func(b, a int) bool { return a > b }, "larger"},
		{"queueing shrinks", func(l *GradientLimiter) {
			feed(l, 20, time.Millisecond, 20)
			feed(l, 200, 10*time.Millisecond, 20)
		}, func(b, a int) bool { return a < b }, "smaller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewGradientLimiter(GradientConfig{})
			before := l.Limit()
			tt.run(l)
			if after := l.Limit(); !tt.cmp(before, after) {
				t.Fatalf("limit %d -> %d, want %s", before, after, tt.want)
			}
		})
	}
}

func TestGradientLimiterBounds(t *testing.T) {
	t.Parallel()
	l := NewGradientLimiter(GradientConfig{Min: 5, Max: 40})
	feed(l, 5000, time.Millisecond, 1000)
	if got := l.Limit(); got != 40 {
		t.Fatalf("limit %d after growth, want Max 40", got)
	}
	l = NewGradientLimiter(GradientConfig{Min: 5, Max: 40, Initial: 40, ProbeEvery: 10000})
	feed(l, 20, time.Microsecond, 40)
	feed(l, 100*20, time.Second, 40)
	if got := l.Limit(); got != 5 {
		t.Fatalf("limit %d after slowdown, want Min 5", got)
	}
}

// TestGradientLimiterConverges runs the limiter against a model server
// that runs capacity requests at once, each taking base; more in flight
// queue, so latency grows with the limit. The limit must settle where the
// server stays busy but latency stays within a few times base.
func TestGradientLimiterConverges(t *testing.T) {
	t.Parallel()
	const capacity, base = 8, 5 * time.Millisecond
	l := NewGradientLimiter(GradientConfig{Initial: 200})
	var lim int
	for range 20000 {
		lim = l.Limit()
		rtt := base
		if lim > capacity {
			rtt = base * time.Duration(lim) / capacity
		}
		l.Observe(rtt, lim)
	}
	if lim < capacity || lim > 4*capacity {
		t.Fatalf("limit settled at %d, want within [%d, %d]", lim, capacity, 4*capacity)
	}
}

// TestGradientLimiterProbeFollowsSlowdown checks that a server that got
// slower for good is not held at Min for ever: the probe measures the new
// no-load latency and the limit grows again.
func TestGradientLimiterProbeFollowsSlowdown(t *testing.T) {
	t.Parallel()
	l := NewGradientLimiter(GradientConfig{Min: 5, Max: 100, Initial: 50, ProbeEvery: 20})
	feed(l, 20, time.Millisecond, 50)
	feed(l, 20*90, 10*time.Millisecond, 100) // ends between probes
	if got := l.Limit(); got < 50 {
		t.Fatalf("limit %d after a lasting slowdown and probes, want >= 50", got)
	}
}
