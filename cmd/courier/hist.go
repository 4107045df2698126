package main

import (
	"math/bits"
	"time"
)

// histogram is a log-linear latency histogram in the style of HDR
// histograms: values are bucketed by their top bit and the 4 bits below it,
// so every recorded value is kept within 1/16 (6.25%) of its true value,
// from 1 ns to hours, in a fixed 1,024-slot array. It is not safe for
// concurrent use; merge per-worker histograms.
type histogram struct {
	counts [64 * 16]uint64
	n      uint64
	max    time.Duration
	sum    time.Duration
}

const subBits = 4

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	top := bits.Len64(v) - 1 // position of the highest set bit, >= subBits
	sub := (v >> (top - subBits)) & (1<<subBits - 1)
	return (top-subBits+1)<<subBits | int(sub)
}

// lowOf returns the smallest value of bucket b.
func lowOf(b int) uint64 {
	if b < 1<<subBits {
		return uint64(b)
	}
	top := b>>subBits + subBits - 1
	sub := uint64(b & (1<<subBits - 1))
	return 1<<top | sub<<(top-subBits)
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the value below which a fraction q of the recorded
// values fall (upper edge of its bucket, capped at the maximum).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			hi := time.Duration(lowOf(b+1) - 1)
			return min(hi, h.max)
		}
	}
	return h.max
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
