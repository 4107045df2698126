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
	// Calls in flight make a server costlier: a with 100 in flight loses to
	// b, but still wins against c, over 4 times slower.
	for range 100 {
		obs.Begin("a")
	}
	if c := p2cCounts(s, 3000); c["c"] != 0 || c["a"] < 800 || c["b"] < 1800 {
		t.Fatalf("counts %v: a with 100 calls in flight must lose to b only", c)
	}
	// Within 4 times, calls in flight count: c at 3 ms beats a.
	for range 200 {
		obs.Begin("c")
		obs.End("c", 3*time.Millisecond, nil)
	}
	if c := p2cCounts(s, 3000); c["a"] != 0 {
		t.Fatalf("counts %v: a server with 100 calls in flight was chosen", c)
	}
}

// feed gives server k n samples of rtt, one every gap.
func feed(obs CallObserver, k string, n int, gap, rtt time.Duration) {
	for range n {
		time.Sleep(gap)
		obs.Begin(k)
		obs.End(k, rtt, nil)
	}
}

func TestP2CDampsPeaksOfBusyServers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewP2CSelector(0)
		s.UpdateServer(map[string]string{"a": "", "b": "", "slow": ""})
		obs := s.(CallObserver)
		feed(obs, "slow", 20, 20*time.Millisecond, 20*time.Millisecond)
		for range 1000 { // 10,000 calls/s each
			feed(obs, "a", 1, 50*time.Microsecond, time.Millisecond)
			feed(obs, "b", 1, 50*time.Microsecond, time.Millisecond)
		}
		// A stall: 50 of a's calls end together, 10 ms late. The estimate
		// of a busy server moves little, so a, over 4 times faster than
		// slow, still wins every draw even with 50 calls in flight.
		feed(obs, "a", 50, 0, 10*time.Millisecond)
		for range 50 {
			obs.Begin("a")
		}
		if c := p2cCounts(s, 300); c["slow"] != 0 || c["a"] < 50 {
			t.Fatalf("counts %v after a stall of the busy server a", c)
		}
		// A slowdown that lasts (200 ms) is taken: b wins against a.
		feed(obs, "a", 2000, 100*time.Microsecond, 40*time.Millisecond)
		s.UpdateServer(map[string]string{"a": "", "b": ""})
		if c := p2cCounts(s, 200); c["a"] != 0 {
			t.Fatalf("counts %v after a slowed down for 200 ms", c)
		}
		// A failure is a peak taken at once, even on a busy server.
		for range 50 {
			obs.End("a", time.Millisecond, nil)
		}
		for range 2000 {
			feed(obs, "a", 1, 50*time.Microsecond, time.Millisecond)
			feed(obs, "b", 1, 50*time.Microsecond, time.Millisecond)
		}
		if c := p2cCounts(s, 200); c["a"] == 0 {
			t.Fatalf("counts %v: a fast again never won", c)
		}
		obs.Begin("a")
		obs.End("a", time.Millisecond, ErrShutdown)
		if c := p2cCounts(s, 200); c["a"] != 0 {
			t.Fatalf("counts %v after the busy server a failed", c)
		}
	})
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

func TestP2CFloorBeatsClientQueueing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewP2CSelector(0)
		s.UpdateServer(map[string]string{"a": "", "slow": ""})
		obs := s.(CallObserver)
		// A saturated client: a's calls mostly wait 15 ms in the client,
		// some get through in 0.3 ms; slow's add its own 20 ms.
		for i := range 500 {
			feed(obs, "a", 3, 100*time.Microsecond, 15*time.Millisecond)
			feed(obs, "a", 1, 100*time.Microsecond, 300*time.Microsecond)
			if i%50 == 0 {
				feed(obs, "slow", 1, 0, 35*time.Millisecond)
			}
		}
		feed(obs, "slow", 1, 0, 21*time.Millisecond)
		for range 50 {
			obs.Begin("a")
		}
		if c := p2cCounts(s, 200); c["slow"] != 0 {
			t.Fatalf("counts %v: the slow server won draws against a client-queued fast one", c)
		}
		// A short spell (1 s) of slow calls only does not lift the floor.
		feed(obs, "a", 1000, time.Millisecond, 15*time.Millisecond)
		if c := p2cCounts(s, 200); c["slow"] != 0 {
			t.Fatalf("counts %v after the fast server was slow for 1 s", c)
		}
		// Once the fast server is slow on every call for the decay time,
		// it loses its floor and the calls in flight count again.
		feed(obs, "a", 10000, time.Millisecond, 15*time.Millisecond)
		if c := p2cCounts(s, 200); c["a"] != 0 {
			t.Fatalf("counts %v: a with 50 calls in flight at 15 ms beat a 21 ms server with none", c)
		}
	})
}
