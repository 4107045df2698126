package client

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func servers(n int, meta func(i int) string) map[string]string {
	m := map[string]string{}
	for i := 0; i < n; i++ {
		v := ""
		if meta != nil {
			v = meta(i)
		}
		m[fmt.Sprintf("tcp@10.0.0.%d:8972", i)] = v
	}
	return m
}

func counts(s Selector, n int, args func(i int) interface{}) map[string]int {
	c := map[string]int{}
	for i := 0; i < n; i++ {
		var a interface{} = i
		if args != nil {
			a = args(i)
		}
		c[s.Select(context.Background(), "Arith", "Mul", a)]++
	}
	return c
}

func TestSelectorsEmpty(t *testing.T) {
	for _, m := range SelectModeValues() {
		s := newSelector(m, nil)
		if got := s.Select(context.Background(), "A", "B", nil); got != "" {
			t.Errorf("%v selected %q from nothing", m, got)
		}
	}
	if newSelector(SelectByUser, nil) != nil {
		t.Error("SelectByUser has a built-in selector")
	}
}

func TestRandomAndRoundRobin(t *testing.T) {
	srv := servers(4, nil)
	rr := newSelector(RoundRobin, srv)
	for k, n := range counts(rr, 4000, nil) {
		if n != 1000 {
			t.Errorf("round robin %s: %d", k, n)
		}
	}
	rs := newSelector(RandomSelect, srv)
	c := counts(rs, 20000, nil)
	if len(c) != 4 {
		t.Fatalf("random used %d servers", len(c))
	}
	for k, n := range c {
		if n < 4500 || n > 5500 {
			t.Errorf("random %s: %d of 20000", k, n)
		}
	}
}

func TestSmoothWeighted(t *testing.T) {
	// nginx's example: weights {5,1,1} give a a b a c a a.
	s := newSelector(WeightedRoundRobin, map[string]string{"a": "weight=5", "b": "weight=1", "c": "weight=1"})
	var seq []string
	for i := 0; i < 7; i++ {
		seq = append(seq, s.Select(context.Background(), "", "", nil))
	}
	if got := strings.Join(seq, ","); got != "a,a,b,a,c,a,a" {
		t.Fatalf("sequence %s", got)
	}
	// 1:2:3 over 6000 picks is exact; bad and missing weights count as 1.
	s = newSelector(WeightedRoundRobin, servers(4, func(i int) string {
		return []string{"weight=1", "weight=2", "weight=3&group=x", "weight=oops"}[i]
	}))
	c := counts(s, 7000, nil)
	want := []int{1000, 2000, 3000, 1000}
	for i, w := range want {
		if got := c[fmt.Sprintf("tcp@10.0.0.%d:8972", i)]; got != w {
			t.Errorf("server %d: %d, want %d", i, got, w)
		}
	}
}

// TestConsistentHashStable is scenario 20: the same key maps to the same
// server across 1,000 UpdateServer calls with the same set in shuffled
// order; adding a server moves at most about 1/N of the keys.
func TestConsistentHashStable(t *testing.T) {
	srv := servers(5, nil)
	s := newConsistentHashSelector()
	s.UpdateServer(srv)
	first := map[int]string{}
	for k := 0; k < 200; k++ {
		first[k] = s.Select(context.Background(), "Arith", "Mul", k)
	}
	keys := sortedKeys(srv)
	for i := 0; i < 1000; i++ {
		rand.Shuffle(len(keys), func(a, b int) { keys[a], keys[b] = keys[b], keys[a] })
		m := make(map[string]string, len(keys))
		for _, k := range keys {
			m[k] = ""
		}
		s.UpdateServer(m)
		for k := 0; k < 200; k += 37 {
			if got := s.Select(context.Background(), "Arith", "Mul", k); got != first[k] {
				t.Fatalf("update %d: key %d moved %s -> %s", i, k, first[k], got)
			}
		}
	}
	// A fresh selector given the same set in another order agrees.
	s2 := newConsistentHashSelector()
	s2.UpdateServer(srv)
	for k, want := range first {
		if got := s2.Select(context.Background(), "Arith", "Mul", k); got != want {
			t.Fatalf("fresh selector: key %d on %s, want %s", k, got, want)
		}
	}
	// Adding a sixth server moves only keys to it, about 1/6 of them.
	const n = 10000
	before := make([]string, n)
	for k := range before {
		before[k] = s.Select(context.Background(), "Arith", "Mul", k)
	}
	srv["tcp@10.0.0.0:1"] = "" // sorts first: order must still be kept
	s.UpdateServer(srv)
	moved := 0
	for k := range before {
		got := s.Select(context.Background(), "Arith", "Mul", k)
		if got != before[k] {
			moved++
			if got != "tcp@10.0.0.0:1" {
				t.Fatalf("key %d moved between old servers %s -> %s", k, before[k], got)
			}
		}
	}
	if frac := float64(moved) / n; frac > 1.0/6+0.02 {
		t.Fatalf("moved %.3f of keys, want <= %.3f", frac, 1.0/6)
	}
	t.Logf("adding a 6th server moved %.2f%% of keys", 100*float64(moved)/n)
}

func TestJumpHash(t *testing.T) {
	if Hash(1, 0) != 0 || JumpConsistentHash(0, "x") != 0 {
		t.Fatal("zero buckets")
	}
	c := make([]int, 10)
	for k := uint64(0); k < 100000; k++ {
		b := Hash(HashString(fmt.Sprint(k)), 10)
		if b < 0 || b >= 10 {
			t.Fatalf("bucket %d", b)
		}
		c[b]++
	}
	for i, n := range c {
		if n < 9000 || n > 11000 {
			t.Errorf("bucket %d: %d of 100000", i, n)
		}
	}
	if JumpConsistentHash(7, "Arith", "Mul", 3) != JumpConsistentHash(7, "Arith", "Mul", 3) {
		t.Fatal("not deterministic")
	}
}

func TestGeoSelector(t *testing.T) {
	srv := map[string]string{
		"tcp@shanghai:1": "latitude=31.23&longitude=121.47",
		"tcp@sv:1":       "latitude=37.39&longitude=-122.08",
		"tcp@nowhere:1":  "",
		"tcp@bad:1":      "latitude=200&longitude=0",
	}
	s := newGeoSelector(39.90, 116.40) // Beijing
	s.UpdateServer(srv)
	for k, n := range counts(s, 100, nil) {
		if k != "tcp@shanghai:1" {
			t.Fatalf("Beijing selected %s (%d)", k, n)
		}
	}
	s.setPosition(37.77, -122.42) // San Francisco
	if got := s.Select(context.Background(), "", "", nil); got != "tcp@sv:1" {
		t.Fatalf("San Francisco selected %s", got)
	}
	// Ties are spread; servers without position are used when nothing has one.
	s.UpdateServer(map[string]string{"a": "latitude=1&longitude=1", "b": "latitude=1&longitude=1"})
	if c := counts(s, 200, nil); len(c) != 2 {
		t.Fatalf("tie not spread: %v", c)
	}
	s.UpdateServer(map[string]string{"a": "", "b": ""})
	if c := counts(s, 200, nil); len(c) != 2 {
		t.Fatalf("no positions: %v", c)
	}
	if d := geoDistance(39.90, 116.40, 31.23, 121.47); math.Abs(d-1067) > 15 {
		t.Fatalf("Beijing-Shanghai %0.f km", d)
	}
}

func TestCalculateWeight(t *testing.T) {
	for _, tc := range []struct{ rtt, w int }{{0, 191}, {10, 191}, {11, 190}, {200, 1}, {201, 1}, {999, 1}, {1000, 0}, {5000, 0}} {
		if got := CalculateWeight(tc.rtt); got != tc.w {
			t.Errorf("CalculateWeight(%d) = %d, want %d", tc.rtt, got, tc.w)
		}
	}
}

func TestWeightedICMP(t *testing.T) {
	s := newWeightedICMPSelector()
	rtts := map[string]time.Duration{"a": 0, "b": 150 * time.Millisecond, "c": -1}
	s.rtt = func(key string) (time.Duration, error) {
		if rtts[key] < 0 {
			return 0, ErrPing
		}
		return rtts[key], nil
	}
	s.UpdateServer(map[string]string{"a": "", "b": "", "c": ""})
	c := counts(s, 243, nil) // weights 191, 51, 1
	if c["a"] != 191 || c["b"] != 51 || c["c"] != 1 {
		t.Fatalf("shares %v", c)
	}
	// All unmeasurable (or >= 1s): equal weights.
	rtts = map[string]time.Duration{"a": 2 * time.Second, "b": 3 * time.Second}
	s.UpdateServer(map[string]string{"a": "", "b": ""})
	if c := counts(s, 100, nil); c["a"] != 50 || c["b"] != 50 {
		t.Fatalf("equal weights: %v", c)
	}
}

// TestPingLoopback measures a real probe (ICMP when permitted, TCP connect
// otherwise) and checks it never hangs on an unreachable port.
func TestPingLoopback(t *testing.T) {
	start := time.Now()
	if _, err := keyRTT("tcp@127.0.0.1:1"); err == nil {
		t.Log("icmp permitted: loopback answered")
	}
	if el := time.Since(start); el > 2*PingTimeout {
		t.Fatalf("ping took %v", el)
	}
	if d, err := keyRTT("memu@x"); err != nil || d != 0 {
		t.Fatalf("memu rtt %v %v", d, err)
	}
	if _, err := Ping("127.0.0.1"); err != nil {
		t.Logf("Ping without port: %v (no ICMP permission)", err)
	}
}

func TestHashFollowsPointers(t *testing.T) {
	a, b := 42, 42
	if hashKey("S", "M", &a) != hashKey("S", "M", &b) || hashKey("S", "M", &a) != hashKey("S", "M", 42) {
		t.Fatal("pointer arguments hash by address")
	}
	var np *int
	_ = hashKey(np, nil) // nil pointers and nil are fine
}
