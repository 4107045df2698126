package hist

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestIndexUpperRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 123456789, 1 << 40, 1<<47 - 1} {
		i := index(v)
		if u := upper(i); u < v {
			t.Errorf("upper(index(%d)) = %d < value", v, u)
		}
		if i > 0 && upper(i-1) >= v {
			t.Errorf("value %d also fits bucket %d below", v, i-1)
		}
	}
}

func TestQuantileAccuracy(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform µs", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(1000000)) }},
		{"exponential", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * 50000) }},
		{"small exact", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(200)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Histogram
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				want := vals[int(q*float64(len(vals))+0.5)-1]
				got := h.Quantile(q)
				lo, hi := float64(want), float64(want)*(1+1.0/subCount)+1
				if float64(got) < lo || float64(got) > hi {
					t.Errorf("q%.3f = %v, want %v (+0.8%%)", q, got, want)
				}
			}
			if h.Max() != vals[len(vals)-1] {
				t.Errorf("max %v, want %v", h.Max(), vals[len(vals)-1])
			}
			if h.Count() != uint64(len(vals)) {
				t.Errorf("count %d, want %d", h.Count(), len(vals))
			}
		})
	}
}

func TestEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatal("empty histogram must report zeros")
	}
	h.Record(-5)
	if h.Count() != 1 || h.Quantile(0.5) != 0 {
		t.Fatalf("negative duration: count %d q50 %v", h.Count(), h.Quantile(0.5))
	}
}

func TestConcurrentRecordAndMerge(t *testing.T) {
	var a, b Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 1000; i++ {
				a.Record(time.Duration(i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	b.Record(time.Hour)
	b.Merge(&a)
	if b.Count() != 8001 || b.Max() != time.Hour {
		t.Fatalf("count %d max %v", b.Count(), b.Max())
	}
	if q := b.Quantile(0.5); q < 500*time.Microsecond || q > 505*time.Microsecond {
		t.Fatalf("median %v, want ~500µs", q)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(100, func() { h.Record(time.Millisecond) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}
