//go:build zookeeper

package client

import (
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

func init() {
	newZK := func(base, service string, addrs []string, o *share.RegistryOptions) (ServiceDiscovery, error) {
		return NewZookeeperDiscovery(base, service, addrs, o)
	}
	plugin := func(addr string, addrs []string, base string) *serverplugin.ZooKeeperRegisterPlugin {
		return serverplugin.NewZooKeeperRegisterPlugin(serverplugin.WithZKServiceAddress(addr),
			serverplugin.WithZKServersAddress(addrs), serverplugin.WithZKBasePath(base))
	}
	registryKits = append(registryKits, &registryKit{
		name:         "zookeeper",
		engine:       engines.ZooKeeper,
		newDiscovery: newZK,
		strictDiscovery: func(base, service string, addrs []string) (ServiceDiscovery, error) {
			return newZK(base, service, addrs, nil)
		},
		newTemplate: func(base string, addrs []string) (ServiceDiscovery, error) {
			return NewZookeeperDiscoveryTemplate(base, addrs, nil)
		},
		newPlugin: func(addr string, addrs []string, base string, ttl time.Duration, started chan struct{}) regPlugin {
			p := plugin(addr, addrs, base)
			p.Expired, p.ServerStarted = ttl, started
			return p
		},
		tune: func(rp regPlugin, reg metrics.Registry, every time.Duration, n serverplugin.ReadinessNotifier) {
			p := rp.(*serverplugin.ZooKeeperRegisterPlugin)
			p.Metrics, p.UpdateInterval, p.Server = reg, every, n
		},
		badPlugins: func(addrs []string) map[string]regPlugin {
			return map[string]regPlugin{
				"no servers":       plugin("tcp@127.0.0.1:1", nil, ""),
				"no network":       plugin("127.0.0.1:1", addrs, ""),
				"slash in address": plugin("unix@/tmp/x.sock", addrs, ""),
			}
		},
		retries: func(d ServiceDiscovery) int64 { return d.(*ZookeeperDiscovery).retries.Load() },
		stop:    func(t testing.TB) { engines.StopZK(t, true) },
		start:   engines.StartZK,
	})
}
