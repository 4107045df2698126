//go:build etcd || zookeeper || consul || mdns

package client

import (
	"strings"
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

// registryKit is what the suite needs of one registry: constructors of its
// discovery and register plugin, and fault hooks.
type registryKit struct {
	name   string // the subtest name, e.g. "zookeeper"
	engine string // engines.Etcd, engines.ZooKeeper or engines.Consul
	// newDiscovery builds a discovery that accepts a service with no entry
	// yet; strictDiscovery one that reports that as an error (the same
	// constructor where the registry has no such option).
	newDiscovery    func(base, service string, addrs []string, o *share.RegistryOptions) (ServiceDiscovery, error)
	strictDiscovery func(base, service string, addrs []string) (ServiceDiscovery, error)
	newTemplate     func(base string, addrs []string) (ServiceDiscovery, error) // nil: none
	// newPlugin builds an unstarted plugin for the server addr (ttl 0: the
	// default; started nil: publish at once).
	newPlugin func(addr string, addrs []string, base string, ttl time.Duration, started chan struct{}) regPlugin
	// tune sets a plugin's Metrics, UpdateInterval and Server (readiness
	// notifier) fields.
	tune func(p regPlugin, reg metrics.Registry, every time.Duration, n serverplugin.ReadinessNotifier)
	// badPlugins are configurations Start must refuse with ErrRegistryConfig.
	badPlugins func(addrs []string) map[string]regPlugin
	// retries counts a discovery's re-reads after failures; stop and start
	// take the engine down and up (nil: no outage test).
	retries     func(ServiceDiscovery) int64
	stop, start func(t testing.TB)

	// enter, when set, stands for engines.Require: it reports whether the
	// kit's tests may run in this process; otherwise it has run them where
	// they can run (mDNS: in a network namespace), reported the outcome on
	// t, and the caller returns.
	enter func(t *testing.T) bool
	// serverless: the registry has no server to address (mDNS), so the
	// cases about registry addresses and unreachable registries do not
	// apply, and the discoveries get no addresses.
	serverless bool
	// settle is how long a check that an entry must NOT appear waits
	// (default 300 ms); killedWithin how soon the entry of a SIGKILLed
	// server with TTL 2 s must be gone (default 4 s).
	settle, killedWithin time.Duration
	// leakDiscovery builds the discoveries of the create/close leak test
	// (nil: newDiscovery without options).
	leakDiscovery func(base, service string, addrs []string) (ServiceDiscovery, error)
	// idle, when set, is called on a discovery of a service nobody
	// registered before it is left idle for a while; the function it
	// returns checks what the discovery did meanwhile.
	idle func(t *testing.T, d ServiceDiscovery) (check func())
}

// settleTime returns k.settle or its default.
func (k *registryKit) settleTime() time.Duration {
	if k.settle > 0 {
		return k.settle
	}
	return 300 * time.Millisecond
}

// registryKits is filled by the kit files of the registries compiled in.
var registryKits []*registryKit

// forEachKit runs f as a subtest per registry kit whose engine is running
// (with faults: whose engine the test may stop and start).
func forEachKit(t *testing.T, faults bool, f func(t *testing.T, k *registryKit, addrs []string)) {
	for _, k := range registryKits {
		t.Run(k.name, func(t *testing.T) {
			if faults && k.stop == nil {
				t.Skipf("%s: no outage hooks in its kit (etcd has its own outage test; mDNS has no registry server)", k.name)
			}
			if addrs, ok := k.require(t, faults); ok {
				f(t, k, addrs)
			}
		})
	}
}

// forKit runs f as the subtest name of the registry kit called name, when
// that registry is compiled in: a test of what only that registry has.
func forKit(t *testing.T, name string, f func(t *testing.T, k *registryKit, addrs []string)) {
	for _, k := range registryKits {
		if k.name == name {
			t.Run(k.name, func(t *testing.T) {
				if addrs, ok := k.require(t, false); ok {
					f(t, k, addrs)
				}
			})
		}
	}
}

// require returns the registry's addresses and true when its tests may run
// here (see registryKit.enter).
func (k *registryKit) require(t *testing.T, faults bool) ([]string, bool) {
	switch {
	case k.enter != nil:
		return nil, k.enter(t)
	case faults:
		return engines.RequireFaults(t, k.engine), true
	default:
		return engines.Require(t, k.engine), true
	}
}

// kitNamed returns the kit called name.
func kitNamed(t *testing.T, name string) *registryKit {
	for _, k := range registryKits {
		if k.name == name {
			return k
		}
	}
	t.Fatalf("no registry kit %q", name)
	return nil
}

// plugin starts a plugin for addr with services registered; Stop runs in
// t.Cleanup.
func (k *registryKit) plugin(t *testing.T, addrs []string, base, addr string, services map[string]string) regPlugin {
	t.Helper()
	p := k.newPlugin(addr, addrs, base, 0, nil)
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

// discovery returns a discovery of service, closed in t.Cleanup.
func (k *registryKit) discovery(t *testing.T, addrs []string, base, service string) ServiceDiscovery {
	t.Helper()
	d, err := k.newDiscovery(base, service, addrs, nil)
	if err != nil {
		t.Fatalf("%s discovery: %v", k.name, err)
	}
	t.Cleanup(d.Close)
	return d
}

// killedLimit returns k.killedWithin or its default.
func (k *registryKit) killedLimit() time.Duration {
	if k.killedWithin > 0 {
		return k.killedWithin
	}
	return 4 * time.Second
}

// cloneSource returns what the clone test clones from: a template
// discovery when the registry has one (checked to list nothing), else a
// discovery of "Arith". It is closed in t.Cleanup.
func (k *registryKit) cloneSource(t *testing.T, addrs []string, base string) ServiceDiscovery {
	t.Helper()
	if k.newTemplate == nil {
		return k.discovery(t, addrs, base, "Arith")
	}
	tmpl, err := k.newTemplate(base, addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tmpl.Close)
	if got := tmpl.GetServices(); len(got) != 0 {
		t.Fatalf("template lists %v", got)
	}
	return tmpl
}

// serverPlugin builds the plugin of a startRegServer server.
func (k *registryKit) serverPlugin(addrs []string, base string, ttl time.Duration) func(string, chan struct{}) regPlugin {
	return func(addr string, started chan struct{}) regPlugin {
		return k.newPlugin(addr, addrs, base, ttl, started)
	}
}

// waitKeysContain polls until the discovery lists every key in want
// (others may be listed too) and returns how long that took.
func waitKeysContain(t *testing.T, d ServiceDiscovery, limit time.Duration, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := listString(d.GetServices())
		all := true
		for _, w := range want {
			all = all && strings.Contains(got, w+"=")
		}
		if all {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v the discovery lists %q, want %v among them", limit, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
