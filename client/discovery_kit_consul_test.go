//go:build consul

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
	newConsul := func(base, service string, addrs []string, o *share.RegistryOptions) (ServiceDiscovery, error) {
		return NewConsulDiscovery(base, service, addrs, o)
	}
	plugin := func(addr string, addrs []string, base string) *serverplugin.ConsulRegisterPlugin {
		return serverplugin.NewConsulRegisterPlugin(serverplugin.WithConsulServiceAddress(addr),
			serverplugin.WithConsulServers(addrs), serverplugin.WithConsulBasePath(base))
	}
	registryKits = append(registryKits, &registryKit{
		name:         "consul",
		engine:       engines.Consul,
		newDiscovery: newConsul,
		strictDiscovery: func(base, service string, addrs []string) (ServiceDiscovery, error) {
			return newConsul(base, service, addrs, nil)
		},
		newTemplate: func(base string, addrs []string) (ServiceDiscovery, error) {
			return NewConsulDiscoveryTemplate(base, addrs, nil)
		},
		newPlugin: func(addr string, addrs []string, base string, ttl time.Duration, started chan struct{}) regPlugin {
			p := plugin(addr, addrs, base)
			p.Expired, p.ServerStarted = ttl, started
			return p
		},
		tune: func(rp regPlugin, reg metrics.Registry, every time.Duration, n serverplugin.ReadinessNotifier) {
			p := rp.(*serverplugin.ConsulRegisterPlugin)
			p.Metrics, p.UpdateInterval, p.Server = reg, every, n
		},
		badPlugins: func(addrs []string) map[string]regPlugin {
			return map[string]regPlugin{
				"no servers": plugin("tcp@127.0.0.1:1", nil, ""),
				"no network": plugin("127.0.0.1:1", addrs, ""),
			}
		},
		retries: func(d ServiceDiscovery) int64 { return d.(*ConsulDiscovery).retries.Load() },
		stop:    func(t testing.TB) { engines.StopConsul(t) },
		start:   engines.StartConsul,
	})
}
