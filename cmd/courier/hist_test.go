package main

import (
	"testing"
	"time"
)

func TestHistogramBucketsRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 15, 16, 17, 100, 1000, 123456, 1 << 40} {
		b := bucketOf(v)
		lo, hi := lowOf(b), lowOf(b+1)
		if v < lo || v >= hi {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, b, lo, hi)
		}
		if v >= 16 && float64(hi-lo)/float64(lo) > 1.0/16+1e-9 {
			t.Errorf("bucket %d too wide: [%d, %d)", b, lo, hi)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	check := func(q float64, want time.Duration) {
		t.Helper()
		got := h.quantile(q)
		if d := float64(got-want) / float64(want); d < -0.07 || d > 0.07 {
			t.Errorf("q%.3f = %v, want %v ±7%%", q, got, want)
		}
	}
	check(0.5, 500*time.Microsecond)
	check(0.99, 990*time.Microsecond)
	if h.quantile(1) != time.Millisecond || h.max != time.Millisecond {
		t.Errorf("max = %v, q1 = %v", h.max, h.quantile(1))
	}
	var other histogram
	other.record(time.Second)
	h.merge(&other)
	if h.n != 1001 || h.max != time.Second {
		t.Errorf("merge: n=%d max=%v", h.n, h.max)
	}
}
