//go:build etcd || zookeeper || consul || mdns

package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/server"
)

// Shared helpers of the registry behaviour suite and the mDNS tests.

// regPlugin is what the register plugins under test have in common.
type regPlugin interface {
	Start() error
	Stop() error
	Register(name string, rcvr interface{}, metadata string) error
	Unregister(name string) error
	UpdateMetadata(name, metadata string) error
}

// idService answers ID with the id of its server, so tests see which
// server took a call.
type idService struct{ id int }

func (s *idService) ID(ctx context.Context, args *testutils.Args, reply *testutils.Reply) error {
	reply.C = s.id
	return nil
}

// listString renders pairs as "key=value ..." sorted by key.
func listString(pairs []*KVPair) string {
	s := make([]string, len(pairs))
	for i, p := range pairs {
		s[i] = p.Key + "=" + p.Value
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

// waitList polls d until its list renders as want and returns how long
// that took.
func waitList(t *testing.T, d ServiceDiscovery, want string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := listString(d.GetServices())
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v the discovery lists %q, want %q", limit, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitKeys polls d until its list has exactly the keys want (any values).
func waitKeys(t *testing.T, d ServiceDiscovery, limit time.Duration, want ...string) time.Duration {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	for {
		var keys []string
		for _, p := range d.GetServices() {
			keys = append(keys, p.Key)
		}
		slices.Sort(keys)
		if slices.Equal(keys, want) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v the discovery lists %v, want %v", limit, keys, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// regServer is a courier server serving idService as "Arith" and
// registered through its plugin.
type regServer struct {
	s      *server.Server
	p      regPlugin
	addr   string // "tcp@host:port"
	ln     net.Listener
	closed atomic.Bool
}

// startRegServer listens on a free loopback port, builds the plugin with
// newPlugin(serviceAddress, server.Started), starts it, registers
// idService{id} as "Arith" with metadata and serves. The registry entry
// must appear only once the listener serves (the plugins get Started).
func startRegServer(t *testing.T, id int, metadata string, newPlugin func(addr string, started chan struct{}) regPlugin) *regServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &regServer{s: server.NewServer(), addr: "tcp@" + ln.Addr().String(), ln: ln}
	rs.p = newPlugin(rs.addr, rs.s.Started)
	if err := rs.p.Start(); err != nil {
		ln.Close()
		t.Fatalf("plugin Start: %v", err)
	}
	rs.s.Plugins.Add(rs.p)
	if err := rs.s.RegisterName("Arith", &idService{id: id}, metadata); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.stop)
	return rs
}

// serve starts serving (closing Started, which releases the plugin).
func (rs *regServer) serve() { go rs.s.ServeListener("tcp", rs.ln) }

// stop deregisters and shuts the server down (idempotent).
func (rs *regServer) stop() {
	if rs.closed.Swap(true) {
		return
	}
	rs.p.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs.s.Shutdown(ctx)
	rs.ln.Close()
}

// load calls ID through xc from workers goroutines, each pausing between
// calls, until finish, counting calls per server id and failures.
type load struct {
	mu     sync.Mutex
	hits   map[int]int
	failed int
	errs   []string
	wg     sync.WaitGroup
	stop   chan struct{}
}

func startLoad(xc XClient, workers int, pause time.Duration) *load {
	l := &load{hits: make(map[int]int), stop: make(chan struct{})}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				var reply testutils.Reply
				err := xc.Call(ctx, "ID", &testutils.Args{}, &reply)
				cancel()
				l.mu.Lock()
				if err != nil {
					l.failed++
					if len(l.errs) < 5 {
						l.errs = append(l.errs, err.Error())
					}
				} else {
					l.hits[reply.C]++
				}
				l.mu.Unlock()
				time.Sleep(pause) // a steady rate, not a spin
			}
		}()
	}
	return l
}

// snapshot returns a copy of the hit counts and the failure count.
func (l *load) snapshot() (map[int]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := make(map[int]int, len(l.hits))
	for k, v := range l.hits {
		h[k] = v
	}
	return h, l.failed
}

// waitHits waits until server id took at least n more calls than in base.
func (l *load) waitHits(t *testing.T, id, n int, limit time.Duration) {
	t.Helper()
	base, _ := l.snapshot()
	deadline := time.Now().Add(limit)
	for {
		h, _ := l.snapshot()
		if h[id]-base[id] >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %d took %d calls in %v, want %d (hits %v)", id, h[id]-base[id], limit, n, h)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *load) finish() (map[int]int, int, []string) {
	close(l.stop)
	l.wg.Wait()
	h, f := l.snapshot()
	return h, f, l.errs
}

// countingSelector is a round-robin selector that counts UpdateServer
// calls and remembers the last server set (scenario 3).
type countingSelector struct {
	mu      sync.Mutex
	servers []string
	next    int
	updates atomic.Int64
}

func (s *countingSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.servers) == 0 {
		return ""
	}
	s.next++
	return s.servers[s.next%len(s.servers)]
}

func (s *countingSelector) UpdateServer(servers map[string]string) {
	s.mu.Lock()
	s.servers = s.servers[:0]
	for k := range servers {
		s.servers = append(s.servers, k)
	}
	slices.Sort(s.servers)
	s.mu.Unlock()
	s.updates.Add(1)
}

func (s *countingSelector) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.servers, key)
}

// fdCount counts this process's open file descriptors.
func fdCount(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// createCloseNoLeak is scenario 1: n discoveries with an active watch are
// created and closed; goroutines and fds return to the baseline.
func createCloseNoLeak(t *testing.T, n int, newD func() (ServiceDiscovery, error)) {
	t.Helper()
	g0, fd0 := runtime.NumGoroutine(), fdCount(t)
	for i := 0; i < n; i++ {
		d, err := newD()
		if err != nil {
			t.Fatalf("discovery %d: %v", i, err)
		}
		ch := d.WatchService()
		if len(d.GetServices()) != 1 {
			t.Fatalf("discovery %d lists %v", i, d.GetServices())
		}
		d.Close()
		d.Close() // idempotent
		if _, ok := <-ch; ok {
			t.Fatal("watcher channel open after Close")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), fdCount(t)
		if g <= g0 && fd <= fd0 {
			t.Logf("after %d create/Close: %d goroutines (baseline %d), %d fds (baseline %d)", n, g, g0, fd, fd0)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak after %d create/Close: %d goroutines (baseline %d), %d fds (baseline %d)", n, g, g0, fd, fd0)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func xcall(xc XClient) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var reply testutils.Reply
	err := xc.Call(ctx, "ID", &testutils.Args{}, &reply)
	if err != nil {
		return 0, fmt.Errorf("call: %w", err)
	}
	return reply.C, nil
}

func goroutinesNow() int { return runtime.NumGoroutine() }

// settledGoroutines returns the number of goroutines once it has not
// changed for 300 ms, or the last count after limit.
func settledGoroutines(limit time.Duration) int {
	deadline := time.Now().Add(limit)
	n, since := runtime.NumGoroutine(), time.Now()
	for time.Since(since) < 300*time.Millisecond && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if g := runtime.NumGoroutine(); g != n {
			n, since = g, time.Now()
		}
	}
	return n
}

// waitGoroutinesAtMost waits until at most n goroutines run.
func waitGoroutinesAtMost(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want at most %d", runtime.NumGoroutine(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
