//go:build etcd || zookeeper || consul

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
	newTemplate     func(base string, addrs []string) (ServiceDiscovery, error)
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
}

// registryKits is filled by the kit files of the registries compiled in.
var registryKits []*registryKit

// forEachKit runs f as a subtest per registry kit whose engine is running
// (with faults: whose engine the test may stop and start).
func forEachKit(t *testing.T, faults bool, f func(t *testing.T, k *registryKit, addrs []string)) {
	for _, k := range registryKits {
		t.Run(k.name, func(t *testing.T) {
			if faults {
				if k.stop == nil {
					t.Skipf("%s has its own outage test", k.name)
				}
				f(t, k, engines.RequireFaults(t, k.engine))
				return
			}
			f(t, k, engines.Require(t, k.engine))
		})
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
