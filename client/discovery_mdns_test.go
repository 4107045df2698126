//go:build mdns

package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

// The mDNS tests multicast, so they run only inside a private network
// namespace where lo is the one multicast interface: TestMDNS re-executes
// the test binary through scripts/netns-mdns.sh (unshare --net) unless
// COURIER_MDNS_NETNS=1 says it already runs in one, and skips (fails with
// COURIER_REQUIRE_ENGINES=1) when namespaces are not permitted. Scenario 3
// (registry outage) does not apply: mDNS has no registry server.

// Browse settings of the tests: short rounds on loopback.
const (
	mdnsTestTimeout  = 150 * time.Millisecond
	mdnsTestInterval = 200 * time.Millisecond
)

func netnsScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "netns-mdns.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/netns-mdns.sh not found")
		}
		dir = parent
	}
}

// inMDNSNetns reports whether this process runs in the namespace set up by
// scripts/netns-mdns.sh. Otherwise it runs test name there and reports the
// outcome on t.
func inMDNSNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv("COURIER_MDNS_NETNS") == "1" {
		if os.Getenv("COURIER_MDNS_IFACE") != "lo" {
			t.Fatal("COURIER_MDNS_NETNS=1 without COURIER_MDNS_IFACE=lo: refusing to multicast")
		}
		return true
	}
	skip := func(msg string) {
		if engines.Required() {
			t.Fatalf("%s (%s=1 forbids skipping)", msg, engines.EnvRequire)
		}
		t.Skip(msg)
	}
	script, err := netnsScript()
	if err != nil {
		skip("mdns: " + err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	args := []string{os.Args[0], "-test.run=^" + t.Name() + "$", "-test.count=1", "-test.v"}
	cmd := exec.CommandContext(ctx, script, args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 77 {
		skip("mdns: tests need a private network namespace and cannot create one here: " + strings.TrimSpace(string(out)))
	}
	t.Logf("inside unshare --net:\n%s", out)
	if err != nil {
		t.Fatalf("mDNS tests in the network namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("mDNS tests in the network namespace did not pass")
	}
	return false
}

func loIface(t *testing.T) []net.Interface {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if lo.Flags&net.FlagMulticast == 0 {
		t.Fatal("lo has no MULTICAST flag: not in the namespace of scripts/netns-mdns.sh")
	}
	return []net.Interface{*lo}
}

func mdnsServerPlugin(ifaces []net.Interface) func(string, chan struct{}) regPlugin {
	return func(addr string, started chan struct{}) regPlugin {
		p := serverplugin.NewMDNSRegisterPlugin(addr, 0, nil, 0, "")
		p.Interfaces = ifaces
		p.ServerStarted = started
		return p
	}
}

func mdnsDiscovery(t *testing.T, ifaces []net.Interface, service string) *MDNSDiscovery {
	t.Helper()
	d, err := NewMDNSDiscoveryOnInterfaces(service, mdnsTestTimeout, mdnsTestInterval, "", ifaces)
	if err != nil {
		t.Fatalf("NewMDNSDiscovery: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// TestMDNSHelperProcess is the child of the killed-server test: it
// announces and waits to be killed.
func TestMDNSHelperProcess(t *testing.T) {
	if !engines.IsHelper() || os.Getenv("COURIER_MDNS_NETNS") != "1" {
		t.Skip("helper process only")
	}
	p := serverplugin.NewMDNSRegisterPlugin(os.Getenv("HELPER_ADDR"), 0, nil, 0, "")
	p.Interfaces = loIface(t)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Register("Arith", nil, "weight=1"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	time.Sleep(time.Minute) // killed by the parent long before
}

// TestMDNSRegisterBeforeStart is rpcx behaviour 17.7: a service registered
// before Start is announced by Start.
func TestMDNSRegisterBeforeStart(t *testing.T) {
	if !inMDNSNetns(t) {
		return
	}
	ifaces := loIface(t)
	p := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7009", 0, nil, 0, "")
	p.Interfaces = ifaces
	if err := p.Register("Before", nil, "weight=3"); err != nil {
		t.Fatalf("Register before Start: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	took := waitList(t, mdnsDiscovery(t, ifaces, "Before"), "tcp@127.0.0.1:7009=weight=3", 5*time.Second)
	t.Logf("registered before Start, announced %v after", took)
}

// notifyCounter counts NotifyReadiness calls (a register plugin's Server).
type notifyCounter struct{ n atomic.Int32 }

func (c *notifyCounter) NotifyReadiness() { c.n.Add(1) }

// TestMDNSReadyOnceAnnounced: the mDNS plugin is a server.ReadinessPlugin,
// ready only once its record is announced, with its Server notified.
func TestMDNSReadyOnceAnnounced(t *testing.T) {
	if !inMDNSNetns(t) {
		return
	}
	gate := make(chan struct{})
	n := &notifyCounter{}
	p := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7010", 0, nil, 0, "")
	p.Interfaces, p.ServerStarted, p.Server = loIface(t), gate, n
	if err := p.Register("Ready", nil, "weight=1"); err != nil {
		t.Fatal(err)
	}
	if p.Ready() {
		t.Fatal("ready before Start")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if p.Ready() {
		t.Fatal("ready before ServerStarted (nothing announced)")
	}
	before := n.n.Load()
	close(gate)
	deadline := time.Now().Add(5 * time.Second)
	for !p.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready 5 s after ServerStarted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n.n.Load() == before {
		t.Fatal("became ready without NotifyReadiness")
	}
	waitList(t, mdnsDiscovery(t, p.Interfaces, "Ready"), "tcp@127.0.0.1:7010=weight=1", 5*time.Second)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if p.Ready() {
		t.Fatal("ready after Stop")
	}
}

func TestMDNS(t *testing.T) {
	if !inMDNSNetns(t) {
		return
	}
	ifaces := loIface(t)

	t.Run("FollowsRegistrations", func(t *testing.T) {
		a := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7001", 0, nil, 0, "")
		a.Interfaces = ifaces
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		defer a.Stop()
		if err := a.Register("Arith", nil, "weight=10"); err != nil {
			t.Fatal(err)
		}
		if err := a.Register("Echo", nil, "group=e"); err != nil {
			t.Fatal(err)
		}
		d := mdnsDiscovery(t, ifaces, "Arith")
		waitList(t, d, "tcp@127.0.0.1:7001=weight=10", 5*time.Second)
		ch := d.WatchService()
		defer d.RemoveWatcher(ch)
		b := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7002", 7002, nil, 0, "local")
		b.Interfaces = ifaces
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		defer b.Stop()
		if err := b.Register("Arith", nil, ""); err != nil {
			t.Fatal(err)
		}
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
			{"inactive", func() error { return a.UpdateMetadata("Arith", "state=inactive") }, "tcp@127.0.0.1:7002="},
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
				took := waitList(t, d, st.want, 5*time.Second)
				t.Logf("%s seen by the discovery after %v", st.name, took)
			})
		}
		e, err := d.Clone("Echo")
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		waitList(t, e, "tcp@127.0.0.1:7001=group=e", 5*time.Second)
		if err := b.Register("Arith", nil, ""); !errors.Is(err, serverplugin.ErrRegistryStopped) {
			t.Fatalf("Register after Stop: %v, want ErrRegistryStopped", err)
		}
		if err := a.Register("Big", nil, strings.Repeat("x", 300)); !errors.Is(err, serverplugin.ErrRegistryConfig) {
			t.Fatalf("metadata longer than a TXT string: %v, want ErrRegistryConfig", err)
		}
	})

	t.Run("ManyServicesSplitTXT", func(t *testing.T) {
		p := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7051", 0, nil, 0, "")
		p.Interfaces = ifaces
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		for i := 0; i < 8; i++ {
			if err := p.Register(fmt.Sprintf("Service%d", i), nil, "weight=1&group=some-long-group-name"); err != nil {
				t.Fatal(err)
			}
		}
		d := mdnsDiscovery(t, ifaces, "Service7")
		waitList(t, d, "tcp@127.0.0.1:7051=weight=1&group=some-long-group-name", 5*time.Second)
	})

	t.Run("Errors", func(t *testing.T) {
		empty, err := NewMDNSDiscovery("", time.Second, time.Second, "")
		if !errors.Is(err, ErrBadDiscovery) || empty == nil {
			t.Fatalf("empty service: %v (discovery %v), want ErrBadDiscovery and a discovery", err, empty)
		}
		empty.Close()
		bogus := []net.Interface{{Index: 9999, Name: "nope0", Flags: net.FlagUp | net.FlagMulticast}}
		d, err := NewMDNSDiscoveryOnInterfaces("Arith", 50*time.Millisecond, time.Second, "", bogus)
		if !errors.Is(err, share.ErrRegistryUnavailable) || d == nil {
			t.Fatalf("no usable interface: %v (discovery %v), want ErrRegistryUnavailable and a discovery that keeps browsing", err, d)
		}
		if got := d.GetServices(); len(got) != 0 {
			t.Fatalf("no usable interface, but lists %v", got)
		}
		d.Close()
		for _, addr := range []string{"127.0.0.1:1", "tcp@127.0.0.1"} {
			p := serverplugin.NewMDNSRegisterPlugin(addr, 0, nil, 0, "")
			if err := p.Start(); !errors.Is(err, serverplugin.ErrRegistryConfig) {
				t.Fatalf("Start with %q: %v, want ErrRegistryConfig", addr, err)
			}
		}
	})

	// Scenario 12 and 11 with real servers: announced only once serving,
	// calls through an XClient, a second server takes traffic, a rolling
	// restart under load loses no call, graceful Stop disappears.
	t.Run("XClient", func(t *testing.T) {
		newPlugin := mdnsServerPlugin(ifaces)
		d := mdnsDiscovery(t, ifaces, "Arith")
		s1 := startRegServer(t, 1, "weight=1", newPlugin)
		time.Sleep(3 * mdnsTestInterval) // rounds that must not find it yet
		if got := d.GetServices(); len(got) != 0 {
			t.Fatalf("announced before the listener serves: %v", listString(got))
		}
		s1.serve()
		took := waitKeys(t, d, 5*time.Second, s1.addr)
		t.Logf("server found %v after Serve", took)
		xc := NewXClient("Arith", Failover, RoundRobin, d, DefaultOption)
		defer xc.Close()
		if id, err := xcall(xc); err != nil || id != 1 {
			t.Fatalf("first call: id %d, %v", id, err)
		}
		l := startLoad(xc, 4, 2*time.Millisecond)
		s2 := startRegServer(t, 2, "", newPlugin)
		s2.serve()
		waitKeys(t, d, 5*time.Second, s1.addr, s2.addr)
		l.waitHits(t, 2, 20, 5*time.Second)
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
			t.Logf("goodbye of %s seen after %v", old.addr, took)
			old.stop()
		}
		l.waitHits(t, 3, 20, 5*time.Second)
		hits, failed, errs := l.finish()
		t.Logf("rolling restart under load: hits per server %v, %d failed %v", hits, failed, errs)
		if failed > 0 {
			t.Fatalf("%d calls failed during the rolling restart: %v", failed, errs)
		}
	})

	t.Run("KilledServer", func(t *testing.T) {
		d := mdnsDiscovery(t, ifaces, "Arith")
		h := engines.StartHelper(t, "TestMDNSHelperProcess", 60*time.Second, "HELPER_ADDR=tcp@127.0.0.1:7201")
		if h.Line != "READY" {
			t.Fatalf("helper said %q", h.Line)
		}
		waitList(t, d, "tcp@127.0.0.1:7201=weight=1", 5*time.Second)
		if err := h.Kill(); err != nil {
			t.Fatal(err)
		}
		took := waitList(t, d, "", 5*time.Second)
		t.Logf("SIGKILLed server left the discovery after %v (interval %v + timeout %v)", took, mdnsTestInterval, mdnsTestTimeout)
		if limit := 2 * (mdnsTestInterval + mdnsTestTimeout); took > limit {
			t.Fatalf("killed server disappeared after %v, want within %v", took, limit)
		}
	})

	// Scenario 1.
	t.Run("CreateCloseNoLeak", func(t *testing.T) {
		p := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7301", 0, nil, 0, "")
		p.Interfaces = ifaces
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		if err := p.Register("Arith", nil, ""); err != nil {
			t.Fatal(err)
		}
		waitList(t, mdnsDiscovery(t, ifaces, "Arith"), "tcp@127.0.0.1:7301=", 5*time.Second)
		createCloseNoLeak(t, 100, func() (ServiceDiscovery, error) {
			return NewMDNSDiscoveryOnInterfaces("Arith", 50*time.Millisecond, mdnsTestInterval, "", ifaces)
		})
	})

	// Scenario 2 (bounded to 2 s): nothing announces the service yet; the
	// list is empty, goroutines stay flat, and it fills once a server
	// announces.
	t.Run("NoServerYet", func(t *testing.T) {
		d := mdnsDiscovery(t, ifaces, "Lonely")
		if got := d.GetServices(); len(got) != 0 {
			t.Fatalf("lists %v", got)
		}
		g := goroutinesNow()
		r0 := d.rounds.Load()
		for i := 0; i < 20; i++ {
			time.Sleep(100 * time.Millisecond)
			if n := goroutinesNow(); n > g+10 {
				t.Fatalf("goroutines grow while idle: %d (start %d)", n, g)
			}
		}
		if r := d.rounds.Load() - r0; r < 3 || r > 12 {
			t.Fatalf("%d browse rounds in 2 s with interval %v", r, mdnsTestInterval)
		}
		p := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7401", 0, nil, 0, "")
		p.Interfaces = ifaces
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		if err := p.Register("Lonely", nil, ""); err != nil {
			t.Fatal(err)
		}
		waitList(t, d, "tcp@127.0.0.1:7401=", 5*time.Second)
	})
}
