//go:build etcd

package client

import (
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

// The etcd kit has no outage hooks: TestEtcdDiscoveryOutage stops the whole
// cluster for 30 s, and TestEtcdDiscoveryEtcdMemberKilled loses a member.
func init() {
	plugin := func(addr string, addrs []string, base string) *serverplugin.EtcdV3RegisterPlugin {
		return &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: addr, EtcdServers: addrs, BasePath: base}
	}
	registryKits = append(registryKits, &registryKit{
		name:   "etcd",
		engine: engines.Etcd,
		newDiscovery: func(base, service string, addrs []string, o *share.RegistryOptions) (ServiceDiscovery, error) {
			return NewEtcdV3Discovery(base, service, addrs, true, o)
		},
		strictDiscovery: func(base, service string, addrs []string) (ServiceDiscovery, error) {
			return NewEtcdV3Discovery(base, service, addrs, false, nil)
		},
		newTemplate: func(base string, addrs []string) (ServiceDiscovery, error) {
			return NewEtcdV3DiscoveryTemplate(base, addrs, true, nil)
		},
		newPlugin: func(addr string, addrs []string, base string, ttl time.Duration, started chan struct{}) regPlugin {
			p := plugin(addr, addrs, base)
			p.Expired, p.ServerStarted = ttl, started
			return p
		},
		tune: func(rp regPlugin, reg metrics.Registry, every time.Duration, n serverplugin.ReadinessNotifier) {
			p := rp.(*serverplugin.EtcdV3RegisterPlugin)
			p.Metrics, p.UpdateInterval, p.Server = reg, every, n
		},
		badPlugins: func(addrs []string) map[string]regPlugin {
			return map[string]regPlugin{
				"no servers":  plugin("tcp@127.0.0.1:1", nil, ""),
				"bad address": plugin("127.0.0.1:1", addrs, ""),
			}
		},
		retries: func(d ServiceDiscovery) int64 { return d.(*EtcdV3Discovery).refetches.Load() },
	})
}
