package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/util"
)

// whoService answers with its server's id and counts its hits.
type whoService struct {
	id   int
	hits atomic.Int64
}

// Who sets *reply to the server id.
func (w *whoService) Who(ctx context.Context, args *int, reply *int) error {
	w.hits.Add(1)
	*reply = w.id
	return nil
}

// Sleep waits *args milliseconds (or until ctx is done) and answers.
func (w *whoService) Sleep(ctx context.Context, args *int, reply *int) error {
	w.hits.Add(1)
	if err := util.Wait(ctx, time.Duration(*args)*time.Millisecond); err != nil {
		return err
	}
	*reply = w.id
	return nil
}

// Fail returns a service error.
func (w *whoService) Fail(ctx context.Context, args *int, reply *int) error {
	w.hits.Add(1)
	return errors.New("who: failed on purpose")
}

// Kill closes the connection the request came on without answering.
func (w *whoService) Kill(ctx context.Context, args *int, reply *int) error {
	w.hits.Add(1)
	if c, ok := ctx.Value(server.RemoteConnContextKey).(net.Conn); ok {
		c.Close()
	}
	return nil
}

// node is a courier server on loopback that can be stopped and restarted
// on the same address.
type node struct {
	t    *testing.T
	id   int
	addr string
	svc  *whoService
	mu   sync.Mutex
	srv  *server.Server
	done chan error
	meta string
}

func startNode(t *testing.T, id int, meta string) *node {
	t.Helper()
	n := &node{t: t, id: id, svc: &whoService{id: id}, meta: meta}
	n.start("127.0.0.1:0")
	t.Cleanup(n.stop)
	return n
}

func (n *node) start(addr string) {
	n.t.Helper()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond) // the old listener's port is being released
	}
	if err != nil {
		n.t.Fatalf("listen %s: %v", addr, err)
	}
	s := server.NewServer()
	if err := s.RegisterName("Who", n.svc, n.meta); err != nil {
		n.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeListener("tcp", ln) }()
	<-s.Started
	n.mu.Lock()
	n.srv, n.done, n.addr = s, done, ln.Addr().String()
	n.mu.Unlock()
}

func (n *node) stop() {
	n.mu.Lock()
	s, done := n.srv, n.done
	n.srv = nil
	n.mu.Unlock()
	if s == nil {
		return
	}
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		n.t.Error("server did not stop")
	}
}

func (n *node) restart() { n.start(n.addr) }

func (n *node) key() string { return "tcp@" + n.addr }

func (n *node) conns() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return 0
	}
	return len(n.srv.ActiveClientConn())
}

func pairsOf(nodes ...*node) []*client.KVPair {
	var out []*client.KVPair
	for _, n := range nodes {
		out = append(out, &client.KVPair{Key: n.key(), Value: n.meta})
	}
	return out
}

func newXC(t *testing.T, fm client.FailMode, sm client.SelectMode, opt client.Option, nodes ...*node) (client.XClient, *client.MultipleServersDiscovery) {
	t.Helper()
	d, err := client.NewMultipleServersDiscovery(pairsOf(nodes...))
	if err != nil {
		t.Fatal(err)
	}
	x := client.NewXClient("Who", fm, sm, d, opt)
	t.Cleanup(func() { x.Close(); d.Close() })
	return x, d
}

// spread makes n calls from 20 goroutines and returns the hits per id.
func spread(t *testing.T, x client.XClient, n int, args func(i int) int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	hits := map[int]int{}
	var wg sync.WaitGroup
	var next atomic.Int64
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				a, reply := args(i), -1
				if err := x.Call(t.Context(), "Who", &a, &reply); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				hits[reply]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return hits
}

func TestIntegrationSelectors(t *testing.T) {
	nodes := []*node{
		startNode(t, 0, "weight=1&latitude=31.23&longitude=121.47"),
		startNode(t, 1, "weight=2&latitude=37.39&longitude=-122.08"),
		startNode(t, 2, "weight=3&latitude=52.52&longitude=13.40"),
	}
	n := 10000
	if testing.Short() {
		n = 3000
	}
	t.Run("weighted", func(t *testing.T) {
		x, _ := newXC(t, client.Failfast, client.WeightedRoundRobin, client.DefaultOption, nodes...)
		hits := spread(t, x, n, func(i int) int { return i })
		for id, w := range []float64{1, 2, 3} {
			share := float64(hits[id]) / float64(n)
			if want := w / 6; share < want-0.02 || share > want+0.02 {
				t.Errorf("server %d: share %.3f, want %.3f±0.02", id, share, want)
			}
		}
		t.Logf("weights 1:2:3 over %d calls: %v", n, hits)
	})
	t.Run("random+roundrobin", func(t *testing.T) {
		for _, sm := range []client.SelectMode{client.RandomSelect, client.RoundRobin} {
			x, _ := newXC(t, client.Failfast, sm, client.DefaultOption, nodes...)
			hits := spread(t, x, 1500, func(i int) int { return i })
			for id := 0; id < 3; id++ {
				if hits[id] < 380 || hits[id] > 620 {
					t.Errorf("%v: server %d got %d of 1500", sm, id, hits[id])
				}
			}
		}
	})
	t.Run("hash", func(t *testing.T) {
		x, d := newXC(t, client.Failfast, client.ConsistentHash, client.DefaultOption, nodes[:2]...)
		before := map[int]int{}
		for k := 0; k < 300; k++ {
			a, reply := k, -1
			if err := x.Call(t.Context(), "Who", &a, &reply); err != nil {
				t.Fatal(err)
			}
			before[k] = reply
		}
		d.Update(pairsOf(nodes...))
		moved := 0
		deadline := time.Now().Add(5 * time.Second)
		for k := 0; k < 300; k++ {
			a, reply := k, -1
			if err := x.Call(t.Context(), "Who", &a, &reply); err != nil {
				t.Fatal(err)
			}
			if reply != before[k] {
				if reply != 2 {
					t.Fatalf("key %d moved %d -> %d, not to the new server", k, before[k], reply)
				}
				moved++
			}
			if k == 299 && moved == 0 && time.Now().Before(deadline) {
				k, moved = -1, 0 // the update has not arrived yet: go again
			}
		}
		if moved > 300/3+20 {
			t.Fatalf("%d of 300 keys moved", moved)
		}
		t.Logf("adding a third server moved %d of 300 keys", moved)
	})
	t.Run("geo", func(t *testing.T) {
		x, _ := newXC(t, client.Failfast, client.Closest, client.DefaultOption, nodes...)
		x.ConfigGeoSelector(48.85, 2.35) // Paris: Berlin is nearest
		for i := 0; i < 20; i++ {
			a, reply := i, -1
			if err := x.Call(t.Context(), "Who", &a, &reply); err != nil || reply != 2 {
				t.Fatalf("geo picked %d (%v)", reply, err)
			}
		}
	})
}

// TestIntegrationRetries is scenario 18 against real servers: a handler
// that kills its connection is retried Retries times (N+1 hits), a service
// error is not retried, for Call and Go alike, and for a Call on a
// connection made before (whose first attempt XClient.Call makes itself).
func TestIntegrationRetries(t *testing.T) {
	nd := startNode(t, 0, "")
	for _, tc := range []struct {
		fm      client.FailMode
		method  string
		retries int
		want    int64
	}{
		{client.Failtry, "Kill", 2, 3},
		{client.Failover, "Kill", 0, 1},
		{client.Failover, "Kill", 3, 4},
		{client.Failfast, "Kill", 3, 1},
		{client.Failover, "Fail", 3, 1},
	} {
		for _, mode := range []string{"call", "go", "warm"} {
			async, warm := mode == "go", mode == "warm"
			t.Run(fmt.Sprintf("%v/%s/%d/%s", tc.fm, tc.method, tc.retries, mode), func(t *testing.T) {
				opt := client.DefaultOption
				opt.Retries = tc.retries
				x, _ := newXC(t, tc.fm, client.RandomSelect, opt, nd)
				a, reply := 1, 0
				if warm { // connected first: Call makes the first attempt itself (directClient)
					if err := x.Call(t.Context(), "Who", &a, &reply); err != nil {
						t.Fatal(err)
					}
				}
				nd.svc.hits.Store(0)
				var err error
				if async {
					call, gerr := x.Go(t.Context(), tc.method, &a, &reply, nil)
					if gerr != nil {
						t.Fatal(gerr)
					}
					err = (<-call.Done).Error
				} else {
					err = x.Call(t.Context(), tc.method, &a, &reply)
				}
				if err == nil {
					t.Fatal("succeeded")
				}
				if got := nd.svc.hits.Load(); got != tc.want {
					t.Fatalf("%d hits, want %d (%v)", got, tc.want, err)
				}
			})
		}
	}
}

// TestIntegrationDeadline is scenario 16 against slow real servers.
func TestIntegrationDeadline(t *testing.T) {
	a, b := startNode(t, 0, ""), startNode(t, 1, "")
	for _, fm := range client.FailModeValues() {
		t.Run(fm.String(), func(t *testing.T) {
			opt := client.DefaultOption
			opt.Retries = 5
			x, _ := newXC(t, fm, client.RoundRobin, opt, a, b)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			// The servers sleep 10 s: a call that waited for one (or retried
			// past the deadline) takes that long. The bound of 2 s leaves a
			// loaded machine room to schedule the return at 200 ms.
			ms, reply := 10000, 0
			err := x.Call(ctx, "Sleep", &ms, &reply)
			if el := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || el > 2*time.Second {
				t.Fatalf("after %v: %v", el, err)
			}
		})
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

// TestIntegrationFailbackupLatency measures Failbackup's p50/p99 with two
// fast servers and with one of them slow (40ms): the backup request after
// BackupLatency (10ms) keeps the tail short.
func TestIntegrationFailbackupLatency(t *testing.T) {
	fast, other := startNode(t, 0, ""), startNode(t, 1, "")
	opt := client.DefaultOption
	opt.BackupLatency = 10 * time.Millisecond
	// Node 1 gets a service that is slow on every call.
	slowSvc := &slowWho{delay: 40 * time.Millisecond}
	for _, n := range []*node{fast, other} {
		n.mu.Lock()
		s := n.srv
		n.mu.Unlock()
		var d time.Duration
		if n == other {
			d = slowSvc.delay
		}
		if err := s.RegisterName("Slow", &slowWho{delay: d}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// run returns p50, p99 and the share of calls slower than 30ms.
	run := func(fm client.FailMode, calls int, nodes ...*node) (time.Duration, time.Duration, float64) {
		d, _ := client.NewMultipleServersDiscovery(pairsOf(nodes...))
		defer d.Close()
		x := client.NewXClient("Slow", fm, client.RandomSelect, d, opt)
		defer x.Close()
		var lat []time.Duration
		slowCalls := 0
		for i := 0; i < calls; i++ {
			a, reply := 0, 0
			start := time.Now()
			if err := x.Call(t.Context(), "Do", &a, &reply); err != nil {
				t.Fatal(err)
			}
			el := time.Since(start)
			if el > 30*time.Millisecond {
				slowCalls++
			}
			lat = append(lat, el)
		}
		return percentile(lat, 0.5), percentile(lat, 0.99), float64(slowCalls) / float64(calls)
	}
	f50, f99, fSlow := run(client.Failover, 100, fast, other)
	b50, b99, bSlow := run(client.Failbackup, 200, fast, other)
	n50, n99, _ := run(client.Failbackup, 200, fast)
	t.Logf("one slow server (40ms), BackupLatency 10ms: Failover p50=%v p99=%v (%.0f%% > 30ms); Failbackup p50=%v p99=%v (%.0f%% > 30ms); Failbackup, fast server only: p50=%v p99=%v",
		f50, f99, 100*fSlow, b50, b99, 100*bSlow, n50, n99)
	// Random selection sends half the calls to the slow server first;
	// Failbackup answers them from the backup after 10ms.
	if fSlow < 0.25 || bSlow > 0.1 {
		t.Fatalf("backup did not cut the tail: %.0f%% slow with Failover, %.0f%% with Failbackup", 100*fSlow, 100*bSlow)
	}
}

// slowWho answers Do after delay.
type slowWho struct{ delay time.Duration }

// Do waits delay (or until ctx is done).
func (s *slowWho) Do(ctx context.Context, args *int, reply *int) error {
	if s.delay == 0 {
		return nil
	}
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
