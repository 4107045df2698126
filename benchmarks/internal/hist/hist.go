// Package hist is a log-bucketed latency histogram in the style of
// HdrHistogram: values below 256 are counted exactly; above that every power
// of two is split into 128 equal sub-buckets, so a reported percentile is
// within 1/128 (0.8%) of the true value. Recording is lock-free and
// allocation-free.
package hist

import (
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	subBits  = 7
	subCount = 1 << subBits // sub-buckets per power of two
	linear   = 2 * subCount // values below this are counted exactly
	// maxShift covers values up to 2^(maxShift+8) ns (about 78 hours).
	maxShift = 40
	nBuckets = linear + maxShift*subCount
)

// Histogram counts durations. The zero value is ready to use. Record may be
// called from many goroutines at once; the read methods are meant for after
// recording has stopped (they are safe at any time but then see a moving
// picture).
type Histogram struct {
	counts [nBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

// index returns the bucket of v (nanoseconds).
func index(v uint64) int {
	if v < linear {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1) // >= 1
	if shift > maxShift {
		return nBuckets - 1
	}
	top := v >> uint(shift) // in [subCount, 2*subCount)
	return linear + (shift-1)*subCount + int(top-subCount)
}

// upper returns the largest value that falls in bucket i.
func upper(i int) uint64 {
	if i < linear {
		return uint64(i)
	}
	shift := (i-linear)/subCount + 1
	top := uint64((i-linear)%subCount + subCount)
	return (top+1)<<uint(shift) - 1
}

// Record adds one observation of d. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[index(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	v := o.max.Load()
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest observation, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean returns the average observation, or 0 when there is none.
func (h *Histogram) Mean() time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the value at or below which a fraction q (0..1) of the
// observations fall, rounded up to its bucket's upper bound and capped at
// Max. It returns 0 when there is no observation.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	if q < 0 {
		q = 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := upper(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v)
		}
	}
	return h.Max()
}
