package client

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func p2cCounts(s Selector, n int) map[string]int {
	c := map[string]int{}
	for range n {
		c[s.Select(context.Background(), "A", "M", nil)]++
	}
	return c
}

func TestP2CAvoidsSlowServer(t *testing.T) {
	s := NewP2CSelector(0)
	s.UpdateServer(map[string]string{"a": "", "b": "", "c": ""})
	obs := s.(CallObserver)
	for _, k := range []string{"a", "b"} {
		obs.Begin(k)
		obs.End(k, time.Millisecond, nil)
	}
	obs.Begin("c")
	obs.End("c", 20*time.Millisecond, nil)
	if c := p2cCounts(s, 3000); c["c"] != 0 || c["a"] < 800 || c["b"] < 800 {
		t.Fatalf("counts %v: the slow server must lose every draw", c)
	}
	// Calls in flight make a server costlier: a with 100 in flight loses to b.
	for range 100 {
		obs.Begin("a")
	}
	if c := p2cCounts(s, 3000); c["a"] != 0 {
		t.Fatalf("counts %v: a server with 100 calls in flight was chosen", c)
	}
}

func TestP2CWeightsAndDecay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewP2CSelector(time.Second)
		s.UpdateServer(map[string]string{"a": "weight=4", "b": "weight=1"})
		obs := s.(CallObserver)
		for _, k := range []string{"a", "b"} {
			obs.Begin(k)
			obs.End(k, 2*time.Millisecond, nil)
		}
		if c := p2cCounts(s, 100); c["a"] != 100 {
			t.Fatalf("counts %v: the heavier server must win equal draws", c)
		}
		obs.Begin("a")
		obs.End("a", time.Second, nil) // a peak
		if c := p2cCounts(s, 100); c["b"] != 100 {
			t.Fatalf("counts %v after a's peak", c)
		}
		time.Sleep(10 * time.Second) // the peak decays while a gets no calls
		obs.Begin("b")
		obs.End("b", 2*time.Millisecond, nil) // and b keeps serving
		if c := p2cCounts(s, 100); c["a"] != 100 {
			t.Fatalf("counts %v: a's peak did not decay", c)
		}
		s.UpdateServer(map[string]string{"b": "weight=1"})
		if c := p2cCounts(s, 10); c["b"] != 10 {
			t.Fatalf("counts %v with one server", c)
		}
	})
}
