package client

import (
	"context"
	"math"
	"sync"
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

func TestP2CExpNeg(t *testing.T) {
	for _, x := range []float64{0, 1e-9, 1e-6, 3e-4, 9.99e-4, 1e-3, 0.02, 1, 30, -1e-6, -9.99e-4, -0.5} {
		want := math.Exp(-x)
		if got := expNeg(x); math.Abs(got-want) > 1e-13*want {
			t.Errorf("expNeg(%g) = %.17g, want %.17g", x, got, want)
		}
	}
}

// TestP2CConcurrentPicks picks, begins and ends from many goroutines at
// once (Select reads without a lock while End writes; run with -race):
// the slow server stays out of selection and every call in flight is
// ended.
func TestP2CConcurrentPicks(t *testing.T) {
	s := NewP2CSelector(0)
	s.UpdateServer(map[string]string{"a": "", "b": "", "slow": ""})
	obs := s.(CallObserver)
	for _, k := range []string{"a", "b", "slow"} {
		obs.Begin(k)
		obs.End(k, map[bool]time.Duration{false: time.Millisecond, true: 20 * time.Millisecond}[k == "slow"], nil)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			for range 2000 {
				k := s.Select(context.Background(), "A", "M", nil)
				local[k]++
				obs.Begin(k)
				rtt := time.Millisecond
				if k == "slow" {
					rtt = 20 * time.Millisecond
				}
				obs.End(k, rtt, nil)
			}
			mu.Lock()
			defer mu.Unlock()
			for k, n := range local {
				counts[k] += n
			}
		}()
	}
	wg.Wait()
	if counts["slow"] != 0 || counts["a"]+counts["b"] != 16000 {
		t.Fatalf("counts %v: the slow server must lose every draw", counts)
	}
	for _, sv := range s.(*p2cSelector).servers.Load().list {
		if n := sv.inflight.Load(); n != 0 {
			t.Errorf("%s: %d calls still in flight after every End", sv.key, n)
		}
	}
}

// BenchmarkSelectorPick is one pick and its Begin/End (for selectors that
// observe calls), from many goroutines at once over 3 servers: the
// selector's own cost per call, P2C against round robin.
func BenchmarkSelectorPick(b *testing.B) {
	servers := map[string]string{"tcp@127.0.0.1:1001": "", "tcp@127.0.0.1:1002": "", "tcp@127.0.0.1:1003": ""}
	for _, c := range []struct {
		name string
		s    Selector
	}{
		{"P2C", NewP2CSelector(0)},
		{"RoundRobin", newSelector(RoundRobin, servers)},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.s.UpdateServer(servers)
			obs, _ := c.s.(CallObserver)
			ctx := context.Background()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := c.s.Select(ctx, "Svc", "Work", nil)
					if obs != nil {
						obs.Begin(k)
						obs.End(k, time.Millisecond, nil)
					}
				}
			})
		})
	}
}
