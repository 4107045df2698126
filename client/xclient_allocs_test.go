package client

import (
	"bytes"
	"context"
	"math"
	"runtime"
	"testing"
	"time"
)

// TestXClientCallAllocs guards the rpcx-style hot path: an XClient Call
// (Failtry, no plugins, no breaker) costs no allocation more than the
// Client.Call beneath it (the attempt is passed by value, not as a
// closure), measured against the allocation-free raw echo server:
// selection, the retry loop, the attempt's observation and statistics must
// not allocate per call. Health checking
// on changes nothing (its selectable list is computed off the call path).
func TestXClientCallAllocs(t *testing.T) {
	s := startRawEcho(t, "memu")
	c := dialTest(t, s, DefaultOption)
	d, err := NewPeer2PeerDiscovery("memu@"+s.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	health := DefaultOption
	health.HealthCheck.Enabled = true
	for _, tc := range []struct {
		name string
		opt  Option
	}{{"default", DefaultOption}, {"health checking", health}} {
		x := NewXClient("S", Failtry, RandomSelect, d, tc.opt)
		args := &echoArgs{A: 1, S: "hello"}
		var reply echoArgs
		ctx := context.Background()
		if err := x.Call(ctx, "Echo", args, &reply); err != nil { // dial
			t.Fatal(err)
		}
		// Exact averages, not AllocsPerRun's whole numbers: under the race
		// detector sync.Pool drops a quarter of what is put back, so Client.Call
		// averages about 6.5 allocations, which truncating turned into 5 or 6
		// from one run to the next. The counts are the whole process's, so a
		// goroutine of an earlier test still ending adds to a measurement: the
		// least of three interleaved measurements of each is what the calls
		// allocate. One real extra allocation per call shows as 1.0 more,
		// above the tolerance of 0.5 (the pool drops' noise is about 0.1).
		base, got := math.Inf(1), math.Inf(1)
		for range 3 {
			base = min(base, allocsPerCall(1000, func() {
				if err := c.Call(ctx, "S", "Echo", args, &reply); err != nil {
					t.Fatal(err)
				}
			}))
			got = min(got, allocsPerCall(1000, func() {
				if err := x.Call(ctx, "Echo", args, &reply); err != nil {
					t.Fatal(err)
				}
			}))
		}
		x.Close()
		t.Logf("%s: Client.Call %.2f allocs, XClient.Call %.2f", tc.name, base, got)
		if got > base+0.5 {
			t.Fatalf("%s: XClient.Call: %.2f allocations per call, Client.Call %.2f: more", tc.name, got, base)
		}
	}
}

// allocsPerCall is the average number of heap allocations of one f() over
// runs calls after a warm-up call, as testing.AllocsPerRun measures them
// (GOMAXPROCS 1 meanwhile) but not rounded down to a whole number.
func allocsPerCall(runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(runs)
}

// TestPeer2PeerXClientNoWatchGoroutine: an XClient over a
// Peer2PeerDiscovery (one server, never changing) runs no goroutine of
// its own; one over a MultipleServersDiscovery (Update may change it)
// watches with one, which Close stops.
func TestPeer2PeerXClientNoWatchGoroutine(t *testing.T) {
	p2p, err := NewPeer2PeerDiscovery("tcp@127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	multi, err := NewMultipleServersDiscovery([]*KVPair{{Key: "tcp@127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		d    ServiceDiscovery
		want int
	}{{"peer2peer", p2p, 0}, {"multiple", multi, 1}} {
		// Counting the XClient's own goroutines, not all of them: those of
		// earlier tests may still be ending meanwhile.
		before := xclientGoroutines()
		x := NewXClient("S", Failtry, RandomSelect, tc.d, DefaultOption)
		if tc.want == 0 {
			if got := xclientGoroutines() - before; got != 0 {
				x.Close()
				t.Fatalf("%s: %d goroutines started, want none", tc.name, got)
			}
		} else {
			waitFor(t, 10*time.Second, "the watch goroutine", func() bool { return xclientGoroutines()-before == tc.want })
		}
		x.Close()
		waitFor(t, 10*time.Second, "the watch goroutine to end", func() bool { return xclientGoroutines() == before })
	}
}

// xclientGoroutines counts the goroutines that run an xClient method or
// were started by newXClient.
func xclientGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		count := 0
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			if bytes.Contains(g, []byte("courier/client.(*xClient).")) || bytes.Contains(g, []byte("courier/client.newXClient")) {
				count++
			}
		}
		return count
	}
}
