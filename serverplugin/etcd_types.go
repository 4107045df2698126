package serverplugin

import (
	"context"
	"errors"
	"net"
	"time"

	metrics "github.com/rcrowley/go-metrics"
)

// EtcdV3RegisterPlugin registers a server's services in etcd (v3 API) so
// that clients using client.NewEtcdV3Discovery find it. It is compiled in
// with the build tag "etcd"; without it Start returns an error naming the
// tag.
//
// Layout (rpcx's, so rpcx servers and courier clients can share a
// registry): for each service the key "BasePath/service/network@address"
// (without a leading slash) holds the URL-encoded metadata given to
// Register (plus "tps=N" when Metrics is set), attached to a lease of TTL
// Expired (default DefaultRegistryTTL, 10 s) that the plugin keeps alive. A
// crashed server's keys thus vanish within Expired; Stop deletes them at
// once. The key "BasePath/service" holds the service name (no lease).
//
// Use:
//
//	r := &serverplugin.EtcdV3RegisterPlugin{
//		ServiceAddress: "tcp@127.0.0.1:8972",
//		EtcdServers:    []string{"127.0.0.1:2379"},
//		BasePath:       "/rpcx_test",
//		ServerStarted:  s.Started, // register only once the listener serves
//	}
//	if err := r.Start(); err != nil { ... }
//	s.Plugins.Add(r)
//	s.RegisterName("Arith", new(Arith), "weight=10")
//	s.Serve("tcp", "127.0.0.1:8972")
//	// on shutdown: r.Stop() (deregisters) before the listener closes
//
// ServerStarted: when it is non-nil, entries are written only after it is
// closed; passing the server's Started channel (closed when Serve's
// listener is open) means a client never finds a server that does not yet
// accept connections. When nil, entries are written as Register is called.
//
// Registry outages: Start returns an error only for a bad configuration; it
// does not wait for etcd. The plugin writes its entries as soon as etcd
// answers, keeps the lease alive, and when the lease is lost (etcd down
// longer than the TTL, or the session broken) it takes a new lease and
// writes the entries again, retrying with a backoff of 100 ms to 5 s.
// Failures are logged (Warn), once per outage.
//
// The exported fields must be set before Start and not changed after; the
// methods are safe for concurrent use.
type EtcdV3RegisterPlugin struct {
	// ServiceAddress is the server's address as clients dial it, e.g.
	// "tcp@127.0.0.1:8972".
	ServiceAddress string
	// EtcdServers are the etcd client endpoints, "host:port" or URLs.
	EtcdServers []string
	// BasePath is the key prefix of all services, e.g. "/rpcx_test".
	BasePath string
	// Metrics, when set, receives the meters "connections" (marked by
	// HandleConnAccept) and "calls" (marked by PreCall); every
	// UpdateInterval the one-minute call rate is published as "tps" in each
	// entry's metadata.
	Metrics metrics.Registry
	// Services lists the names registered so far (maintained by the plugin;
	// read it only when no Register call runs).
	Services []string
	// UpdateInterval is how often "tps" is refreshed when Metrics is set;
	// zero means never. It does not affect liveness (see Expired).
	UpdateInterval time.Duration
	// Expired is the lease TTL; zero means DefaultRegistryTTL. Values
	// below one second are raised to one second.
	Expired time.Duration
	// Options configures the etcd connection (TLS, user, timeout).
	Options *RegistryOptions
	// ServerStarted delays all writes until it is closed (see above).
	ServerStarted chan struct{}
	// Server, when set (usually the *server.Server the plugin is added to),
	// is told through NotifyReadiness whenever Ready's answer changes, so
	// the Health service's Watch learns it at once (a courier addition).
	Server ReadinessNotifier

	h registryHandle
}

// EtcdRegisterPlugin is EtcdV3RegisterPlugin under rpcx's name for the etcd
// v2 registry. etcd removed its v2 API, so courier's EtcdRegisterPlugin also
// speaks v3 and writes the same layout; a client finds it with
// client.NewEtcdDiscovery or client.NewEtcdV3Discovery alike. The fields and
// behaviour are those of EtcdV3RegisterPlugin, without ServerStarted. It is
// compiled in with the build tag "etcd".
type EtcdRegisterPlugin struct {
	// ServiceAddress is the server's address as clients dial it, e.g.
	// "tcp@127.0.0.1:8972".
	ServiceAddress string
	// EtcdServers are the etcd client endpoints, "host:port" or URLs.
	EtcdServers []string
	// BasePath is the key prefix of all services, e.g. "/rpcx_test".
	BasePath string
	// Metrics, when set, receives the meters "connections" and "calls";
	// see EtcdV3RegisterPlugin.Metrics.
	Metrics metrics.Registry
	// Services lists the names registered so far (maintained by the plugin).
	Services []string
	// UpdateInterval is how often "tps" is refreshed when Metrics is set.
	UpdateInterval time.Duration
	// Expired is the lease TTL; zero means DefaultRegistryTTL.
	Expired time.Duration
	// Options configures the etcd connection (TLS, user, timeout).
	Options *RegistryOptions
	// Server, when set (usually the *server.Server the plugin is added to),
	// is told through NotifyReadiness whenever Ready's answer changes, so
	// the Health service's Watch learns it at once (a courier addition).
	Server ReadinessNotifier

	h registryHandle
}

// ErrEtcdNotCompiled is returned by the etcd plugins' Start (and by the
// etcd discoveries in package client) when courier was built without the
// "etcd" build tag.
var ErrEtcdNotCompiled = errors.New("courier: etcd support not compiled in; rebuild with -tags etcd")

// etcdConfig is the configuration both plugin types hand to the registrar.
type etcdConfig struct {
	serviceAddress string
	servers        []string
	basePath       string
	metrics        metrics.Registry
	updateInterval time.Duration
	ttl            time.Duration
	options        *RegistryOptions
	serverStarted  chan struct{}
}

func (p *EtcdV3RegisterPlugin) config() etcdConfig {
	return etcdConfig{p.ServiceAddress, p.EtcdServers, p.BasePath, p.Metrics,
		p.UpdateInterval, registryTTL(p.Expired), p.Options, p.ServerStarted}
}

func (p *EtcdRegisterPlugin) config() etcdConfig {
	return etcdConfig{p.ServiceAddress, p.EtcdServers, p.BasePath, p.Metrics,
		p.UpdateInterval, registryTTL(p.Expired), p.Options, nil}
}

// Start validates the configuration and starts registering in the
// background; it does not wait for etcd (see the type's doc). A bad
// configuration gives an error wrapping ErrRegistryConfig; without the
// "etcd" build tag Start returns ErrEtcdNotCompiled. Calling Start on a
// started plugin does nothing; Start after Stop starts afresh with no
// services.
func (p *EtcdV3RegisterPlugin) Start() error {
	return startEtcd(&p.h, p.config(), &p.Services, p.Server)
}

// Stop deregisters every service of this plugin (by revoking its lease, so
// all its keys go at once), waits for the background work to end and closes
// the etcd connection. It waits at most Options' connection timeout for
// etcd; if etcd does not answer, the entries expire with the lease. It is
// idempotent and returns nil when the plugin never started.
func (p *EtcdV3RegisterPlugin) Stop() error { return p.h.stop() }

// Register adds the service name with URL-encoded metadata; it is the
// server.RegisterPlugin hook, called by Server.Register and RegisterName.
// When etcd answers the entry is written before Register returns (the
// first Register after Start waits for the plugin's first lease, at most the
// connection timeout plus 2 s); otherwise it is written in the background
// once etcd is back. With ServerStarted still open it only records the
// service. Before Start it only records the service, and Start publishes it
// (programs that learn their address after listening register first); after
// Stop it returns ErrRegistryStopped.
func (p *EtcdV3RegisterPlugin) Register(name string, rcvr interface{}, metadata string) error {
	return p.h.register(&p.Services, name, metadata)
}

// RegisterFunction registers the service serviceName like Register; it is
// the server.RegisterFunctionPlugin hook.
func (p *EtcdV3RegisterPlugin) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	return p.h.register(&p.Services, serviceName, metadata)
}

// Unregister removes the service name and deletes its entry; names never
// registered are ignored. Errors as for Register.
func (p *EtcdV3RegisterPlugin) Unregister(name string) error {
	return p.h.unregister(&p.Services, name)
}

// UpdateMetadata replaces the metadata of the registered service name (for
// example to publish "weight=5" or "state=inactive") and rewrites its entry;
// discoveries watching the service see the change. It is a courier
// addition. Unknown names give an error wrapping ErrRegistryConfig.
func (p *EtcdV3RegisterPlugin) UpdateMetadata(name, metadata string) error {
	return p.h.update(name, metadata)
}

// HandleConnAccept marks the "connections" meter when Metrics is set and
// keeps the connection (server.PostConnAcceptPlugin).
func (p *EtcdV3RegisterPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	markMeter(p.Metrics, "connections")
	return conn, true
}

// PreCall marks the "calls" meter when Metrics is set and returns args
// unchanged (server.PreCallPlugin).
func (p *EtcdV3RegisterPlugin) PreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error) {
	markMeter(p.Metrics, "calls")
	return args, nil
}

// Start is EtcdV3RegisterPlugin.Start.
func (p *EtcdRegisterPlugin) Start() error { return startEtcd(&p.h, p.config(), &p.Services, p.Server) }

// Stop is EtcdV3RegisterPlugin.Stop.
func (p *EtcdRegisterPlugin) Stop() error { return p.h.stop() }

// Register is EtcdV3RegisterPlugin.Register.
func (p *EtcdRegisterPlugin) Register(name string, rcvr interface{}, metadata string) error {
	return p.h.register(&p.Services, name, metadata)
}

// RegisterFunction is EtcdV3RegisterPlugin.RegisterFunction.
func (p *EtcdRegisterPlugin) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	return p.h.register(&p.Services, serviceName, metadata)
}

// Unregister is EtcdV3RegisterPlugin.Unregister.
func (p *EtcdRegisterPlugin) Unregister(name string) error {
	return p.h.unregister(&p.Services, name)
}

// UpdateMetadata is EtcdV3RegisterPlugin.UpdateMetadata.
func (p *EtcdRegisterPlugin) UpdateMetadata(name, metadata string) error {
	return p.h.update(name, metadata)
}

// HandleConnAccept is EtcdV3RegisterPlugin.HandleConnAccept.
func (p *EtcdRegisterPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	markMeter(p.Metrics, "connections")
	return conn, true
}

// PreCall is EtcdV3RegisterPlugin.PreCall.
func (p *EtcdRegisterPlugin) PreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error) {
	markMeter(p.Metrics, "calls")
	return args, nil
}

func markMeter(reg metrics.Registry, name string) {
	if reg != nil {
		metrics.GetOrRegisterMeter(name, reg).Mark(1)
	}
}

// startEtcd starts h with a new etcd registrar for cfg.
func startEtcd(h *registryHandle, cfg etcdConfig, services *[]string, n ReadinessNotifier) error {
	return h.start(services, n, func() (registrar, error) {
		r, err := newEtcdRegistrar(cfg)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return r, nil
	})
}

// Ready reports whether the plugin has published the server: false
// before Start and after Stop, and until every registered service has been
// written to the registry at least once (a later registry outage does not
// change it). It is the server.ReadinessPlugin hook, so a server's /readyz
// and Health status stay NOT_SERVING until its registries list it. Safe for
// concurrent use.
func (p *EtcdV3RegisterPlugin) Ready() bool { return p.h.ready() }

// Ready is EtcdV3RegisterPlugin.Ready.
func (p *EtcdRegisterPlugin) Ready() bool { return p.h.ready() }
