//go:build etcd || zookeeper || consul || mdns

package client

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

// The registry behaviour suite: every test here runs once per registry
// compiled in (etcd, ZooKeeper, Consul, mDNS: one kit file per build tag),
// etcd, ZooKeeper and Consul against the real engines of scripts/testenv.sh
// (skipped when an engine's address is unset, failing with
// COURIER_REQUIRE_ENGINES=1), each run under its own base path
// (engines.Prefix); mDNS inside a private network namespace (see
// discovery_kit_mdns_test.go). TestRegistryOutage stops engines: run engine
// packages with -p 1. Tests that only one registry has (etcd member loss,
// etcd's 30 s outage, mDNS TXT records and interfaces) stay in that
// registry's test file.

// TestRegistryRegisterBeforeStart is rpcx behaviour 17.7: a program adds
// the plugin, registers its service, and only then starts the plugin (say
// once it knows its port). The entry is published by Start; with
// ServerStarted it still appears only once the listener serves (scenario
// 12), and calls go through.
func TestRegistryRegisterBeforeStart(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, addrs []string) {
		base := engines.Prefix(t)
		d := k.discovery(t, addrs, base, "Arith")
		for i, withStarted := range []bool{false, true} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := server.NewServer()
			addr := "tcp@" + ln.Addr().String()
			var started chan struct{}
			if withStarted {
				started = s.Started
			} else {
				go s.ServeListener("tcp", ln)
			}
			p := k.newPlugin(addr, addrs, base, 0, started)
			s.Plugins.Add(p)
			if err := s.RegisterName("Arith", &idService{id: i + 1}, "weight=1"); err != nil {
				t.Fatalf("RegisterName before Start: %v", err)
			}
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Stop(); s.Close() })
			if withStarted {
				time.Sleep(k.settleTime()) // give a premature registration time to show up
				if keys := listString(d.GetServices()); strings.Contains(keys, addr) {
					t.Fatalf("entry of %s present before its listener serves: %s", addr, keys)
				}
				go s.ServeListener("tcp", ln)
			}
			took := waitKeysContain(t, d, 10*time.Second, addr)
			t.Logf("registered before Start (ServerStarted %v): entry seen %v after Start", withStarted, took)
		}
		xc := NewXClient("Arith", Failover, RoundRobin, d, DefaultOption)
		defer xc.Close()
		seen := map[int]bool{}
		for i := 0; i < 10 && len(seen) < 2; i++ {
			id, err := xcall(xc)
			if err != nil {
				t.Fatal(err)
			}
			seen[id] = true
		}
		if len(seen) != 2 {
			t.Fatalf("calls reached servers %v, want both", seen)
		}
	})
}

// TestRegistryClientBeforeServers is rpcx behaviour 17.8: a client built
// before any server registered (even from a constructor that reported the
// missing entry as an error) works as soon as one registers.
func TestRegistryClientBeforeServers(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, addrs []string) {
		base := engines.Prefix(t)
		d, err := k.strictDiscovery(base, "Arith", addrs)
		if d == nil {
			t.Fatalf("nil discovery (error %v)", err)
		}
		if err != nil && !errors.Is(err, share.ErrRegistryKeyNotFound) {
			t.Fatalf("constructor: %v, want nil or ErrRegistryKeyNotFound", err)
		}
		t.Cleanup(d.Close)
		xc := NewXClient("Arith", Failover, RoundRobin, d, DefaultOption)
		defer xc.Close()
		if _, err := xcall(xc); !errors.Is(err, ErrXClientNoServer) {
			t.Fatalf("call before any server: %v, want ErrXClientNoServer", err)
		}
		rs := startRegServer(t, 7, "", k.serverPlugin(addrs, base, 0))
		rs.serve()
		start := time.Now()
		for {
			id, err := xcall(xc)
			if err == nil && id == 7 {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("10 s after the server registered calls still fail: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("first call succeeded %v after the server started", time.Since(start))
	})
}

func TestRegistryFollowsRegistrations(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, zks []string) {
		base := engines.Prefix(t)
		a := k.plugin(t, zks, base, "tcp@127.0.0.1:7001", map[string]string{"Arith": "weight=10"})
		d := k.discovery(t, zks, base, "Arith")
		waitList(t, d, "tcp@127.0.0.1:7001=weight=10", 5*time.Second)
		ch := d.WatchService()
		defer d.RemoveWatcher(ch)

		b := k.plugin(t, zks, base, "tcp@127.0.0.1:7002", map[string]string{"Arith": ""})
		select {
		case list := <-ch:
			if got := listString(list); got != "tcp@127.0.0.1:7001=weight=10 tcp@127.0.0.1:7002=" {
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
			{"weight and group", func() error { return a.UpdateMetadata("Arith", "weight=5&group=g1") },
				"tcp@127.0.0.1:7001=weight=5&group=g1 tcp@127.0.0.1:7002="},
			{"inactive", func() error { return a.UpdateMetadata("Arith", "weight=5&state=inactive") },
				"tcp@127.0.0.1:7002="},
			{"active again", func() error { return a.UpdateMetadata("Arith", "weight=1") },
				"tcp@127.0.0.1:7001=weight=1 tcp@127.0.0.1:7002="},
			{"unregister", func() error { return a.Unregister("Arith") }, "tcp@127.0.0.1:7002="},
			{"graceful stop", b.Stop, ""},
			{"register again", func() error { return a.Register("Arith", nil, "group=g2") }, "tcp@127.0.0.1:7001=group=g2"},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				if err := st.do(); err != nil {
					t.Fatal(err)
				}
				took := waitList(t, d, st.want, 5*time.Second)
				t.Logf("%s seen by the discovery after %v", st.name, took)
			})
		}
		if err := b.Register("Arith", nil, ""); !errors.Is(err, serverplugin.ErrRegistryStopped) {
			t.Fatalf("Register after Stop: %v, want ErrRegistryStopped", err)
		}
		if err := a.UpdateMetadata("Nope", ""); !errors.Is(err, serverplugin.ErrRegistryConfig) {
			t.Fatalf("UpdateMetadata of an unknown service: %v, want ErrRegistryConfig", err)
		}
	})
}

func TestRegistryCloneTemplateErrors(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, zks []string) {
		base := engines.Prefix(t)
		k.plugin(t, zks, base, "tcp@127.0.0.1:7101", map[string]string{"Echo": "group=a", "Arith": "group=b"})
		k.plugin(t, zks, base, "tcp@127.0.0.1:7102", map[string]string{"Echo": "group=b"})

		src := k.cloneSource(t, zks, base)
		d, err := src.Clone("Echo")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		waitList(t, d, "tcp@127.0.0.1:7101=group=a tcp@127.0.0.1:7102=group=b", 5*time.Second)
		d.SetFilter(func(p *KVPair) bool { return strings.Contains(p.Value, "group=b") })
		waitList(t, d, "tcp@127.0.0.1:7102=group=b", time.Second)

		type badCase struct {
			name    string
			service string
			addrs   []string
		}
		bad := []badCase{{"empty service path", "", zks}}
		if !k.serverless {
			bad = append(bad, badCase{"no addresses", "Echo", nil}, badCase{"blank address", "Echo", []string{" "}})
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := k.newDiscovery(base, tc.service, tc.addrs, nil); !errors.Is(err, ErrBadDiscovery) {
					t.Fatalf("got %v, want ErrBadDiscovery", err)
				}
			})
		}
		if _, err := d.Clone(""); !errors.Is(err, ErrBadDiscovery) {
			t.Fatalf("Clone(\"\"): %v", err)
		}
		for name, p := range k.badPlugins(zks) {
			t.Run(name, func(t *testing.T) {
				if err := p.Start(); !errors.Is(err, serverplugin.ErrRegistryConfig) {
					t.Fatalf("Start: %v, want ErrRegistryConfig", err)
				}
				if err := p.Register("Arith", nil, ""); err != nil { // recorded until a Start succeeds
					t.Fatalf("Register: %v, want nil", err)
				}
			})
		}
	})
}

// TestRegistryHelperProcess is the child of TestRegistryKilledServer: it
// registers through the kit HELPER_KIT (TTL 2 s) and waits to be killed.
func TestRegistryHelperProcess(t *testing.T) {
	if !engines.IsHelper() {
		t.Skip("helper process only")
	}
	k := kitNamed(t, os.Getenv("HELPER_KIT"))
	if _, ok := k.require(t, false); !ok {
		t.Fatal("helper started where the kit's tests cannot run")
	}
	p := k.newPlugin(os.Getenv("HELPER_ADDR"), strings.Split(os.Getenv("HELPER_REGISTRY"), ","), os.Getenv("HELPER_BASE"), 2*time.Second, nil)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Register("Arith", nil, "weight=1"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	time.Sleep(time.Minute) // killed by the parent long before
}

// TestRegistryKilledServer: a registered process killed with
// SIGKILL disappears when its TTL (2 s) runs out. A process restarted
// on the same address at once replaces the dead process's entry, and the
// old entry's expiry does not remove the new one.
func TestRegistryKilledServer(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, zks []string) {
		base := engines.Prefix(t)
		d := k.discovery(t, zks, base, "Arith")
		env := []string{"HELPER_KIT=" + k.name, "HELPER_REGISTRY=" + strings.Join(zks, ","), "HELPER_BASE=" + base}

		h := engines.StartHelper(t, "TestRegistryHelperProcess", 60*time.Second, append(env, "HELPER_ADDR=tcp@127.0.0.1:7201")...)
		if h.Line != "READY" {
			t.Fatalf("helper said %q", h.Line)
		}
		waitList(t, d, "tcp@127.0.0.1:7201=weight=1", 5*time.Second)
		if err := h.Kill(); err != nil {
			t.Fatal(err)
		}
		took := waitList(t, d, "", 10*time.Second)
		t.Logf("SIGKILLed server (TTL 2s) left the discovery after %v", took)
		if limit := k.killedLimit(); took > limit {
			t.Fatalf("killed server disappeared after %v, want within %v", took, limit)
		}

		t.Run("restart on the same address", func(t *testing.T) {
			h := engines.StartHelper(t, "TestRegistryHelperProcess", 60*time.Second, append(env, "HELPER_ADDR=tcp@127.0.0.1:7202")...)
			waitList(t, d, "tcp@127.0.0.1:7202=weight=1", 5*time.Second)
			if err := h.Kill(); err != nil {
				t.Fatal(err)
			}
			p := k.plugin(t, zks, base, "tcp@127.0.0.1:7202", map[string]string{"Arith": "weight=2"})
			took := waitList(t, d, "tcp@127.0.0.1:7202=weight=2", 5*time.Second)
			t.Logf("restarted process replaced the dead process's entry after %v", took)
			// Outlive the dead process's expiry: the node must stay.
			deadline := time.Now().Add(4 * time.Second)
			for time.Now().Before(deadline) {
				if got := listString(d.GetServices()); got != "tcp@127.0.0.1:7202=weight=2" {
					t.Fatalf("after the dead process's TTL ran out the list is %q", got)
				}
				time.Sleep(100 * time.Millisecond)
			}
			p.Stop()
			waitList(t, d, "", 5*time.Second)
		})
	})
}

// TestRegistryXClient covers scenarios 11 and 12 with real servers: the
// entry appears only once the listener serves; calls go through an XClient;
// a second server joins and takes traffic; a rolling restart under load
// loses no call; graceful Stop removes the entry.
func TestRegistryXClient(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, zks []string) {
		base := engines.Prefix(t)
		newPlugin := k.serverPlugin(zks, base, 3*time.Second)
		d := k.discovery(t, zks, base, "Arith")

		s1 := startRegServer(t, 1, "weight=1", newPlugin)
		time.Sleep(k.settleTime()) // give a premature registration time to show up
		if got := d.GetServices(); len(got) != 0 {
			t.Fatalf("entry present before the listener serves: %v", listString(got))
		}
		s1.serve()
		took := waitKeys(t, d, 5*time.Second, s1.addr)
		t.Logf("entry appeared %v after Serve", took)

		xc := NewXClient("Arith", Failover, RoundRobin, d, DefaultOption)
		defer xc.Close()
		if id, err := xcall(xc); err != nil || id != 1 {
			t.Fatalf("first call: id %d, %v", id, err)
		}
		l := startLoad(xc, 4, 2*time.Millisecond)
		s2 := startRegServer(t, 2, "weight=1", newPlugin)
		s2.serve()
		waitKeys(t, d, 5*time.Second, s1.addr, s2.addr)
		l.waitHits(t, 2, 20, 5*time.Second)

		// Rolling restart: deregister, wait for the client to see it, then shut
		// down; bring a replacement up before touching the next one.
		s3 := startRegServer(t, 3, "", newPlugin)
		s3.serve()
		waitKeys(t, d, 5*time.Second, s1.addr, s2.addr, s3.addr)
		for _, old := range []*regServer{s1, s2} {
			if err := old.p.Stop(); err != nil {
				t.Fatal(err)
			}
			rest := []string{s3.addr}
			if old == s1 {
				rest = append(rest, s2.addr)
			}
			took := waitKeys(t, d, 5*time.Second, rest...)
			t.Logf("deregistration of %s seen after %v", old.addr, took)
			old.stop()
		}
		l.waitHits(t, 3, 20, 5*time.Second)
		hits, failed, errs := l.finish()
		t.Logf("rolling restart under load: hits per server %v, %d failed %v", hits, failed, errs)
		if failed > 0 {
			t.Fatalf("%d calls failed during the rolling restart: %v", failed, errs)
		}
		s3.stop()
		took = waitKeys(t, d, 5*time.Second)
		t.Logf("graceful stop of the last server seen after %v", took)
	})
}

// TestRegistryCreateCloseNoLeak is scenario 1.
func TestRegistryCreateCloseNoLeak(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, zks []string) {
		base := engines.Prefix(t)
		k.plugin(t, zks, base, "tcp@127.0.0.1:7301", map[string]string{"Arith": ""})
		// Wait for the entry with a discovery closed before the baseline is
		// taken (its watch starts in the background after it returns).
		d0, err := k.newDiscovery(base, "Arith", zks, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitList(t, d0, "tcp@127.0.0.1:7301=", 5*time.Second)
		d0.Close()
		createCloseNoLeak(t, 100, func() (ServiceDiscovery, error) {
			if k.leakDiscovery != nil {
				return k.leakDiscovery(base, "Arith", zks)
			}
			return k.newDiscovery(base, "Arith", zks, nil)
		})
	})
}

// TestRegistryUnreachable is scenario 2, first half: an unreachable
// registry gives an error within the connection timeout and leaves no
// goroutine, and a plugin pointed at it does not block.
func TestRegistryUnreachable(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, _ []string) {
		if k.serverless {
			t.Skipf("%s has no registry server to be unreachable", k.name)
		}
		g0 := goroutinesNow()
		start := time.Now()
		dd, err := k.newDiscovery("/x", "Arith", []string{deadAddr(t)}, &share.RegistryOptions{ConnectionTimeout: time.Second})
		if !errors.Is(err, share.ErrRegistryUnavailable) || dd == nil {
			t.Fatalf("unreachable registry: %v (discovery %v), want ErrRegistryUnavailable and a discovery", err, dd)
		}
		if got := dd.GetServices(); len(got) != 0 {
			t.Fatalf("unreachable registry lists %v", got)
		}
		dd.Close() // it kept retrying in the background until now
		t.Logf("unreachable registry reported after %v: %v", time.Since(start), err)
		waitGoroutinesAtMost(t, g0, 5*time.Second)

		// A plugin pointed at a dead registry starts, registers and stops
		// without blocking.
		p := k.newPlugin("tcp@127.0.0.1:7402", []string{deadAddr(t)}, "/x", 0, nil)
		start = time.Now()
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		if err := p.Register("Arith", nil, ""); err != nil {
			t.Fatal(err)
		}
		p.Stop()
		t.Logf("plugin on a dead registry: Start+Register+Stop took %v", time.Since(start))
	})
}

// TestRegistryNoServerYet is scenario 2, second half (bounded to 2 s
// instead of 60): a service with no server gives an empty list that fills
// when a server registers, with goroutines flat meanwhile.
func TestRegistryNoServerYet(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, zks []string) {
		base := engines.Prefix(t)
		d := k.discovery(t, zks, base, "Lonely")
		if got := d.GetServices(); len(got) != 0 {
			t.Fatalf("no node yet, but lists %v", got)
		}
		// The registry client's own goroutines (gRPC streams and sub-
		// connections for etcd) may still be starting: the baseline is the
		// count once it holds still (or after 3 s: mDNS browses all the
		// time); a goroutine per retry or poll keeps growing past it. It is
		// taken before the idle period the kit's check measures.
		gRun := settledGoroutines(3 * time.Second)
		check := func() {}
		if k.idle != nil {
			check = k.idle(t, d)
		}
		for i := 0; i < 20; i++ { // 2 s with nothing registered
			time.Sleep(100 * time.Millisecond)
			if g := goroutinesNow(); g > gRun+5 {
				t.Fatalf("goroutines grow while idle: %d (start %d)", g, gRun)
			}
		}
		check()
		k.plugin(t, zks, base, "tcp@127.0.0.1:7401", map[string]string{"Lonely": ""})
		waitList(t, d, "tcp@127.0.0.1:7401=", 5*time.Second)
	})
}

// TestRegistryOutage is scenario 3 with the registry stopped for 12 s
// (shorter than the scenario's 30 s to keep the package run short; the
// backoff reaches its 5 s cap after 6 s, so 12 s covers the capped regime).
// Calls through an XClient keep reaching the known server, the discovery
// keeps its list without spinning, a server registering during the outage
// is found afterwards without restarting the client, and the custom
// selector's UpdateServer is called.
func TestRegistryOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("12 s outage; skipped with -short")
	}
	forEachKit(t, true, func(t *testing.T, k *registryKit, zks []string) {
		base := engines.Prefix(t)
		newPlugin := k.serverPlugin(zks, base, 4*time.Second)
		s1 := startRegServer(t, 1, "", newPlugin)
		s1.serve()
		d := k.discovery(t, zks, base, "Arith")
		waitKeys(t, d, 5*time.Second, s1.addr)
		sel := &countingSelector{}
		xc := NewXClient("Arith", Failover, SelectByUser, d, DefaultOption)
		xc.SetSelector(sel)
		defer xc.Close()
		if _, err := xcall(xc); err != nil {
			t.Fatal(err)
		}

		restarted := atomic.Bool{}
		k.stop(t)
		t.Cleanup(func() {
			if !restarted.Load() {
				k.start(t)
			}
		})
		const outage = 12 * time.Second
		r0, cpu0, start := k.retries(d), processCPU(), time.Now()
		l := startLoad(xc, 1, 10*time.Millisecond)
		s2 := startRegServer(t, 2, "late=1", newPlugin) // Start/Register must not block
		s2.serve()
		if time.Since(start) > 2*time.Second {
			t.Fatalf("starting a registered server during the outage took %v", time.Since(start))
		}
		for time.Since(start) < outage {
			if got := listString(d.GetServices()); got != s1.addr+"=" {
				t.Fatalf("during the outage the list changed to %q", got)
			}
			time.Sleep(250 * time.Millisecond)
		}
		hits, failed, errs := l.finish()
		attempts, cpu := k.retries(d)-r0, processCPU()-cpu0
		t.Logf("%v outage: %v calls to the known server, %d failed %v; %d discovery re-reads, process CPU %v", outage, hits, failed, errs, attempts, cpu)
		if failed > 0 || hits[1] == 0 {
			t.Fatalf("calls to the known server during the outage: hits %v, %d failed", hits, failed)
		}
		if attempts > 8 {
			t.Fatalf("%d re-reads in a %v outage: backoff not applied", attempts, outage)
		}
		if cpu > outage/4 {
			t.Fatalf("process used %v CPU during a %v outage (with a 100 calls/s loop): spinning?", cpu, outage)
		}
		u0 := sel.updates.Load()
		back := time.Now()
		k.start(t)
		restarted.Store(true)
		took := waitKeys(t, d, 30*time.Second, s1.addr, s2.addr)
		t.Logf("server registered during the outage seen %v after the registry served again (%v after restart began)", took, time.Since(back))
		deadline := time.Now().Add(5 * time.Second)
		for !sel.has(s2.addr) || sel.updates.Load() == u0 {
			if time.Now().After(deadline) {
				t.Fatalf("custom selector not updated after the outage (updates %d→%d)", u0, sel.updates.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
		seen := map[int]bool{}
		for i := 0; i < 20 && len(seen) < 2; i++ {
			id, err := xcall(xc)
			if err != nil {
				t.Fatal(err)
			}
			seen[id] = true
		}
		if !seen[2] {
			t.Fatalf("server registered during the outage took no call: %v", seen)
		}
	})
}
