package client

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func outlierServers(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("s%d", i)] = ""
	}
	return m
}

func TestOutlierEjection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOutliers(OutlierConfig{ConsecutiveFailures: 3, BaseEjection: time.Second, MaxEjectedPercent: 50})
		o.retain(outlierServers(4))
		for i := range 2 {
			if o.report("s0", time.Millisecond, outcomeFailure) {
				t.Fatalf("ejected after %d failures", i+1)
			}
		}
		o.report("s0", time.Millisecond, outcomeSuccess) // a success resets the count
		for range 2 {
			o.report("s0", time.Millisecond, outcomeFailure)
		}
		if o.ejected("s0") {
			t.Fatal("ejected although a success came between the failures")
		}
		if !o.report("s0", time.Millisecond, outcomeFailure) || !o.ejected("s0") {
			t.Fatal("not ejected after 3 failures in a row")
		}
		// At most 50 % of 4 servers: one more, then no more.
		if !o.report("s1", 0, outcomeOverloaded) {
			t.Fatal("an overloaded server was not ejected")
		}
		if o.report("s2", 0, outcomeOverloaded) || o.ejected("s2") {
			t.Fatal("more than half the servers ejected")
		}
		time.Sleep(time.Second)
		if o.ejected("s0") || o.ejected("s1") {
			t.Fatal("still ejected after the period")
		}
		// Ejected again at once: the period doubles.
		o.report("s1", 0, outcomeOverloaded)
		time.Sleep(1500 * time.Millisecond)
		if !o.ejected("s1") {
			t.Fatal("second ejection did not last twice as long")
		}
		time.Sleep(time.Second)
		o.report("s1", time.Millisecond, outcomeSuccess)
		o.report("s1", 0, outcomeOverloaded)
		time.Sleep(1100 * time.Millisecond)
		if o.ejected("s1") {
			t.Fatal("a success did not reset the ejection period")
		}
	})
}

func TestOutlierSingleServerNeverEjected(t *testing.T) {
	o := newOutliers(OutlierConfig{})
	o.retain(outlierServers(1))
	for range 10 {
		o.report("s0", 0, outcomeFailure)
	}
	if o.ejected("s0") {
		t.Fatal("the only server was ejected")
	}
}

func TestOutlierLatency(t *testing.T) {
	o := newOutliers(OutlierConfig{LatencyFactor: 5, LatencyMinSamples: 10})
	o.retain(outlierServers(3))
	for range 10 {
		o.report("s0", time.Millisecond, outcomeSuccess)
		o.report("s1", time.Millisecond, outcomeSuccess)
	}
	ejected := false
	for range 10 {
		ejected = o.report("s2", 20*time.Millisecond, outcomeSuccess) || ejected
	}
	if !ejected || !o.ejected("s2") {
		t.Fatal("a server 20x slower than its peers was not ejected")
	}
	if o.ejected("s0") || o.ejected("s1") {
		t.Fatal("a healthy server was ejected")
	}
}

// TestEjectionAppliesToEverySelector checks through an XClient that a
// failing server leaves selection, whatever the select mode, and that
// pick still uses an ejected server when it is the only one left.
func TestEjectionAppliesToEverySelector(t *testing.T) {
	for _, sm := range []SelectMode{RandomSelect, RoundRobin, WeightedRoundRobin, ConsistentHash, P2CPeakEWMA} {
		t.Run(sm.String(), func(t *testing.T) {
			f := newFakeNet(3)
			f.get(0).setBehaviour(overloaded)
			opt := DefaultOption
			opt.Outlier.BaseEjection = time.Minute
			x, _ := newFakeXClient(t, f, Failover, sm, opt)
			for i := range 60 {
				var reply int
				if err := x.Call(t.Context(), "Mul", i, &reply); err != nil {
					t.Fatal(err)
				}
			}
			if h := f.get(0).hits.Load(); h != 1 {
				t.Fatalf("the overloaded server got %d of 60 calls, want 1", h)
			}
			if x.Stats().Ejections != 1 {
				t.Fatalf("stats %+v", x.Stats())
			}
			key, err := x.pick(context.Background(), "Mul", 1, map[string]bool{f.get(1).key: true, f.get(2).key: true})
			if err != nil || key != f.get(0).key {
				t.Fatalf("pick with only the ejected server left: %q %v", key, err)
			}
		})
	}
}

// TestOutlierLatencyNeedsExcess: among fast servers a large ratio (10µs
// against 1µs) is noise, not an outlier.
func TestOutlierLatencyNeedsExcess(t *testing.T) {
	o := newOutliers(OutlierConfig{LatencyFactor: 5, LatencyMinSamples: 10})
	o.retain(outlierServers(3))
	for range 50 {
		o.report("s0", time.Microsecond, outcomeSuccess)
		o.report("s1", time.Microsecond, outcomeSuccess)
		if o.report("s2", 10*time.Microsecond, outcomeSuccess) {
			t.Fatal("a server 9µs slower than its peers was ejected")
		}
	}
}
