//go:build etcd

package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

// These tests run against the real 3-member etcd cluster of
// scripts/testenv.sh (skipped when COURIER_ETCD_ENDPOINTS is unset). Each
// test uses its own base path (engines.Prefix). TestEtcdDiscoveryOutage
// stops the whole cluster for 30 s: run engine packages with -p 1.

// etcdPlugin starts a register plugin for addr (e.g. "tcp@127.0.0.1:1")
// with services registered; Stop runs in t.Cleanup.
func etcdPlugin(t *testing.T, eps []string, base, addr string, ttl time.Duration, services map[string]string) *serverplugin.EtcdV3RegisterPlugin {
	t.Helper()
	p := &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: addr, EtcdServers: eps, BasePath: base, Expired: ttl}
	if err := p.Start(); err != nil {
		t.Fatalf("plugin Start: %v", err)
	}
	t.Cleanup(func() { p.Stop() })
	for name, md := range services {
		if err := p.Register(name, nil, md); err != nil {
			t.Fatalf("Register(%s): %v", name, err)
		}
	}
	return p
}

func etcdDiscovery(t *testing.T, eps []string, base, service string) *EtcdV3Discovery {
	t.Helper()
	d, err := NewEtcdV3Discovery(base, service, eps, true, nil)
	if err != nil {
		t.Fatalf("NewEtcdV3Discovery: %v", err)
	}
	t.Cleanup(d.Close)
	return d.(*EtcdV3Discovery)
}

func pairString(pairs []*KVPair) string {
	s := make([]string, len(pairs))
	for i, p := range pairs {
		s[i] = p.Key + "=" + p.Value
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

// waitPairs polls d until its list renders as want ("key=value ...") and
// returns how long that took.
func waitPairs(t *testing.T, d ServiceDiscovery, want string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := pairString(d.GetServices())
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v the discovery lists %q, want %q", limit, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEtcdDiscoveryFollowsRegistrations(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	base := engines.Prefix(t)
	a := etcdPlugin(t, eps, base, "tcp@127.0.0.1:7001", 0, map[string]string{"Arith": "weight=10"})
	d := etcdDiscovery(t, eps, base, "Arith")
	waitPairs(t, d, "tcp@127.0.0.1:7001=weight=10", 5*time.Second)
	ch := d.WatchService()
	defer d.RemoveWatcher(ch)

	b := etcdPlugin(t, eps, base, "tcp@127.0.0.1:7002", 0, map[string]string{"Arith": ""})
	select {
	case list := <-ch:
		if got := pairString(list); got != "tcp@127.0.0.1:7001=weight=10 tcp@127.0.0.1:7002=" {
			t.Fatalf("watcher got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher got nothing after the second server joined")
	}

	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"weight", func() error { return a.UpdateMetadata("Arith", "weight=5&group=g1") },
			"tcp@127.0.0.1:7001=weight=5&group=g1 tcp@127.0.0.1:7002="},
		{"inactive", func() error { return a.UpdateMetadata("Arith", "weight=5&state=inactive") },
			"tcp@127.0.0.1:7002="},
		{"active again", func() error { return a.UpdateMetadata("Arith", "weight=1") },
			"tcp@127.0.0.1:7001=weight=1 tcp@127.0.0.1:7002="},
		{"unregister", func() error { return a.Unregister("Arith") }, "tcp@127.0.0.1:7002="},
		{"graceful stop", b.Stop, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			took := waitPairs(t, d, st.want, 5*time.Second)
			t.Logf("%s seen by the discovery after %v", st.name, took)
		})
	}
	if err := b.Register("Arith", nil, ""); !errors.Is(err, serverplugin.ErrRegistryStopped) {
		t.Fatalf("Register after Stop: %v, want ErrRegistryStopped", err)
	}
}

func TestEtcdDiscoveryFilterCloneTemplate(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	base := engines.Prefix(t)
	etcdPlugin(t, eps, base, "tcp@127.0.0.1:7101", 0, map[string]string{"Echo": "group=a", "Arith": "group=b"})
	etcdPlugin(t, eps, base, "tcp@127.0.0.1:7102", 0, map[string]string{"Echo": "group=b"})

	tmpl, err := NewEtcdV3DiscoveryTemplate(base, eps, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tmpl.Close()
	if got := tmpl.GetServices(); len(got) != 0 {
		t.Fatalf("template lists %v", got)
	}
	d, err := tmpl.Clone("Echo")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitPairs(t, d, "tcp@127.0.0.1:7101=group=a tcp@127.0.0.1:7102=group=b", 5*time.Second)
	d.SetFilter(func(p *KVPair) bool { return strings.Contains(p.Value, "group=b") })
	waitPairs(t, d, "tcp@127.0.0.1:7102=group=b", time.Second)

	// No key yet without allowKeyNotFound: the error, and a discovery that
	// keeps watching and finds the server once it registers.
	missing, err := NewEtcdV3Discovery(base, "Missing", eps, false, nil)
	if !errors.Is(err, share.ErrRegistryKeyNotFound) || missing == nil {
		t.Fatalf("missing service without allowKeyNotFound: %v (discovery %v), want ErrRegistryKeyNotFound and a discovery", err, missing)
	}
	defer missing.Close()
	etcdPlugin(t, eps, base, "tcp@127.0.0.1:7103", 0, map[string]string{"Missing": "group=c"})
	waitPairs(t, missing, "tcp@127.0.0.1:7103=group=c", 5*time.Second)

	for name, args := range map[string][]string{"empty service path": {"", "x"}, "no addresses": {"Echo"}} {
		var addrs []string
		if len(args) > 1 {
			addrs = eps
		}
		bad, err := NewEtcdV3Discovery(base, args[0], addrs, true, nil)
		if !errors.Is(err, ErrBadDiscovery) || bad == nil {
			t.Fatalf("%s: %v (discovery %v), want ErrBadDiscovery and a discovery", name, err, bad)
		}
		if got := bad.GetServices(); len(got) != 0 {
			t.Fatalf("%s: lists %v", name, got)
		}
		bad.Close()
	}
}

// TestEtcdHelperProcess is the child of TestEtcdDiscoveryKilledServer: it
// registers and waits to be killed.
func TestEtcdHelperProcess(t *testing.T) {
	if !engines.IsHelper() {
		t.Skip("helper process only")
	}
	p := &serverplugin.EtcdV3RegisterPlugin{
		ServiceAddress: os.Getenv("HELPER_ADDR"),
		EtcdServers:    strings.Split(os.Getenv("HELPER_EPS"), ","),
		BasePath:       os.Getenv("HELPER_BASE"),
		Expired:        2 * time.Second,
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Register("Arith", nil, "weight=1"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	time.Sleep(time.Minute) // killed by the parent long before
}

// TestEtcdDiscoveryKilledServer: a registered process killed with SIGKILL
// disappears within its lease TTL (2 s here) plus one keepalive period.
func TestEtcdDiscoveryKilledServer(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	base := engines.Prefix(t)
	d := etcdDiscovery(t, eps, base, "Arith")
	h := engines.StartHelper(t, "TestEtcdHelperProcess", 60*time.Second,
		"HELPER_ADDR=tcp@127.0.0.1:7201", "HELPER_EPS="+strings.Join(eps, ","), "HELPER_BASE="+base)
	if h.Line != "READY" {
		t.Fatalf("helper said %q", h.Line)
	}
	waitPairs(t, d, "tcp@127.0.0.1:7201=weight=1", 5*time.Second)
	if err := h.Kill(); err != nil {
		t.Fatal(err)
	}
	took := waitPairs(t, d, "", 10*time.Second)
	t.Logf("SIGKILLed server (TTL 2s) left the discovery after %v", took)
	if took > 4*time.Second {
		t.Fatalf("killed server disappeared after %v, want within TTL 2s + 2s", took)
	}
}

// etcdServer runs a courier server with Arith registered in etcd through
// the plugin (entries appear once the listener serves).
func etcdServer(t *testing.T, eps []string, base string) (*server.Server, *serverplugin.EtcdV3RegisterPlugin) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := server.NewServer()
	p := &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: "tcp@" + ln.Addr().String(), EtcdServers: eps,
		BasePath: base, Expired: 3 * time.Second, ServerStarted: s.Started}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	s.Plugins.Add(p)
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	go s.ServeListener("tcp", ln)
	t.Cleanup(func() {
		p.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, p
}

// TestEtcdDiscoveryEtcdMemberKilled: calls through an XClient on etcd
// discovery keep working while one etcd member is killed, and a server
// that registers while the member is down is found and called.
func TestEtcdDiscoveryEtcdMemberKilled(t *testing.T) {
	eps := engines.RequireFaults(t, engines.Etcd)
	base := engines.Prefix(t)
	etcdServer(t, eps, base)
	d := etcdDiscovery(t, eps, base, "Arith")
	xc := NewXClient("Arith", Failover, RoundRobin, d, DefaultOption)
	defer xc.Close()

	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var reply testutils.Reply
		if err := xc.Call(ctx, "Mul", &testutils.Args{A: 6, B: 7}, &reply); err != nil {
			return err
		}
		if reply.C != 42 {
			return fmt.Errorf("reply %d", reply.C)
		}
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(d.GetServices()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, member := range []int{1, 2} {
		t.Run(fmt.Sprintf("member%d", member), func(t *testing.T) {
			engines.KillEtcdMember(t, member)
			t.Cleanup(func() { engines.StartEtcdMember(t, member) })
			var failed int
			_, p2 := etcdServer(t, eps, base) // registers during the member's outage
			n := len(d.GetServices())
			for i := 0; i < 200; i++ {
				if err := call(); err != nil {
					failed++
					t.Logf("call %d: %v", i, err)
				}
			}
			took := waitPairsCount(t, d, n, p2.ServiceAddress, 10*time.Second)
			t.Logf("member %d down: 200 calls, %d failed; new server seen after %v", member, failed, took)
			if failed > 0 {
				t.Fatalf("%d of 200 calls failed with etcd member %d down", failed, member)
			}
		})
	}
}

// waitPairsCount waits until d lists key (and at least n servers).
func waitPairsCount(t *testing.T, d ServiceDiscovery, n int, key string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		list := d.GetServices()
		if len(list) >= n && slices.ContainsFunc(list, func(p *KVPair) bool { return p.Key == key }) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v the discovery lists %q, want %s among them", limit, pairString(list), key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestEtcdDiscoveryCreateCloseNoLeak is scenario 1: 100 discoveries with
// an active watch are created and closed; goroutines and fds return to the
// baseline.
func TestEtcdDiscoveryCreateCloseNoLeak(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	base := engines.Prefix(t)
	etcdPlugin(t, eps, base, "tcp@127.0.0.1:7301", 0, map[string]string{"Arith": ""})
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	for i := 0; i < 100; i++ {
		d, err := NewEtcdV3Discovery(base, "Arith", eps, false, nil)
		if err != nil {
			t.Fatalf("discovery %d: %v", i, err)
		}
		ch := d.WatchService()
		if len(d.GetServices()) != 1 {
			t.Fatalf("discovery %d lists %v", i, d.GetServices())
		}
		d.Close()
		if _, ok := <-ch; ok {
			t.Fatal("watcher channel open after Close")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g <= g0 && fd <= fd0 {
			t.Logf("after 100 create/Close: %d goroutines (baseline %d), %d fds (baseline %d)", g, g0, fd, fd0)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak after 100 create/Close: %d goroutines (baseline %d), %d fds (baseline %d)", g, g0, fd, fd0)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEtcdDiscoveryUnreachableRegistry is scenario 2: an unreachable
// registry gives an error (no panic, no leftover goroutines), and a service
// with no key yet gives an empty list that fills when a server registers.
func TestEtcdDiscoveryUnreachableRegistry(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now

	g0 := runtime.NumGoroutine()
	start := time.Now()
	dd, err := NewEtcdV3Discovery("/x", "Arith", []string{dead}, true, &share.RegistryOptions{ConnectionTimeout: time.Second})
	if !errors.Is(err, share.ErrRegistryUnavailable) || dd == nil {
		t.Fatalf("unreachable registry: %v (discovery %v), want ErrRegistryUnavailable and a discovery", err, dd)
	}
	if got := dd.GetServices(); len(got) != 0 {
		t.Fatalf("unreachable registry lists %v", got)
	}
	dd.Close() // it kept retrying in the background until now
	t.Logf("unreachable registry reported after %v: %v", time.Since(start), err)
	if g := runtime.NumGoroutine(); g > g0+20 {
		t.Fatalf("%d goroutines after a failed constructor (baseline %d)", g, g0)
	}

	base := engines.Prefix(t)
	d := etcdDiscovery(t, eps, base, "Arith")
	if got := d.GetServices(); len(got) != 0 {
		t.Fatalf("no key yet, but lists %v", got)
	}
	gRun := runtime.NumGoroutine()
	for i := 0; i < 20; i++ { // 2 s of running with nothing registered
		time.Sleep(100 * time.Millisecond)
		if g := runtime.NumGoroutine(); g > gRun+5 {
			t.Fatalf("goroutines grow while idle: %d (start %d)", g, gRun)
		}
	}
	etcdPlugin(t, eps, base, "tcp@127.0.0.1:7401", 0, map[string]string{"Arith": ""})
	waitPairs(t, d, "tcp@127.0.0.1:7401=", 5*time.Second)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestEtcdDiscoveryOutage is scenario 3: the whole etcd cluster is down for
// 30 s. The discovery keeps its last list, re-reads at most a bounded
// number of times (backoff up to 5 s) without burning CPU, and after etcd
// returns it sees a server that registered during the outage, and its
// watchers are told.
func TestEtcdDiscoveryOutage(t *testing.T) {
	eps := engines.RequireFaults(t, engines.Etcd)
	if testing.Short() {
		t.Skip("30 s outage; skipped with -short")
	}
	base := engines.Prefix(t)
	etcdPlugin(t, eps, base, "tcp@127.0.0.1:7501", 0, map[string]string{"Arith": ""})
	d := etcdDiscovery(t, eps, base, "Arith")
	waitPairs(t, d, "tcp@127.0.0.1:7501=", 5*time.Second)
	ch := d.WatchService()
	defer d.RemoveWatcher(ch)

	restarted := atomic.Bool{}
	engines.StopEtcd(t, true)
	t.Cleanup(func() {
		if !restarted.Load() {
			engines.StartEtcd(t)
		}
	})
	const outage = 30 * time.Second
	r0, cpu0, start := d.refetches.Load(), cpuTime(), time.Now()
	late := &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:7502", EtcdServers: eps, BasePath: base}
	if err := late.Start(); err != nil { // must not fail or block while etcd is down
		t.Fatalf("Start during outage: %v", err)
	}
	t.Cleanup(func() { late.Stop() })
	if err := late.Register("Arith", nil, "late=1"); err != nil {
		t.Fatalf("Register during outage: %v", err)
	}
	for time.Since(start) < outage {
		if got := pairString(d.GetServices()); got != "tcp@127.0.0.1:7501=" {
			t.Fatalf("during the outage the list changed to %q", got)
		}
		time.Sleep(500 * time.Millisecond)
	}
	attempts, cpu := d.refetches.Load()-r0, cpuTime()-cpu0
	t.Logf("30 s outage: %d re-reads by the discovery, process CPU %v", attempts, cpu)
	// backoff 100ms..5s: at most ~12 re-reads in 30 s; allow slack for jitter.
	if attempts > 15 {
		t.Fatalf("%d re-reads in a 30 s outage: backoff not applied", attempts)
	}
	if cpu > outage/5 {
		t.Fatalf("process used %v CPU during a 30 s outage: spinning?", cpu)
	}
	back := time.Now()
	engines.StartEtcd(t)
	took := waitPairs(t, d, "tcp@127.0.0.1:7501= tcp@127.0.0.1:7502=late=1", 60*time.Second)
	restarted.Store(true)
	t.Logf("after restart of the cluster: server registered during the outage seen %v after the cluster was healthy (%v after restart began)", took, time.Since(back))
	select {
	case list := <-ch:
		t.Logf("watcher told: %q (%v after restart)", pairString(list), time.Since(back))
	case <-time.After(5 * time.Second):
		t.Fatal("watcher not told after the outage")
	}
}
