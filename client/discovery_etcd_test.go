//go:build etcd

package client

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
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
			t.Fatalf("after %v the discovery lists %q, want %s among them", limit, listString(list), key)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	waitList(t, d, "tcp@127.0.0.1:7501=", 5*time.Second)
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
	r0, cpu0, start := d.refetches.Load(), processCPU(), time.Now()
	late := &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:7502", EtcdServers: eps, BasePath: base}
	if err := late.Start(); err != nil { // must not fail or block while etcd is down
		t.Fatalf("Start during outage: %v", err)
	}
	t.Cleanup(func() { late.Stop() })
	if err := late.Register("Arith", nil, "late=1"); err != nil {
		t.Fatalf("Register during outage: %v", err)
	}
	for time.Since(start) < outage {
		if got := listString(d.GetServices()); got != "tcp@127.0.0.1:7501=" {
			t.Fatalf("during the outage the list changed to %q", got)
		}
		time.Sleep(500 * time.Millisecond)
	}
	attempts, cpu := d.refetches.Load()-r0, processCPU()-cpu0
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
	took := waitList(t, d, "tcp@127.0.0.1:7501= tcp@127.0.0.1:7502=late=1", 60*time.Second)
	restarted.Store(true)
	t.Logf("after restart of the cluster: server registered during the outage seen %v after the cluster was healthy (%v after restart began)", took, time.Since(back))
	select {
	case list := <-ch:
		t.Logf("watcher told: %q (%v after restart)", listString(list), time.Since(back))
	case <-time.After(5 * time.Second):
		t.Fatal("watcher not told after the outage")
	}
}
