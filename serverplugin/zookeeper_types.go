package serverplugin

import (
	"context"
	"errors"
	"net"
	"time"

	metrics "github.com/rcrowley/go-metrics"
)

// ErrZooKeeperNotCompiled is returned by ZooKeeperRegisterPlugin.Start (and
// by the ZooKeeper discovery in package client) when courier was built
// without the "zookeeper" build tag.
var ErrZooKeeperNotCompiled = errors.New("courier: zookeeper support not compiled in; rebuild with -tags zookeeper")

// ZooKeeperRegisterPlugin registers a server's services in ZooKeeper so
// that clients using client.NewZookeeperDiscovery find it. It is compiled
// in with the build tag "zookeeper"; without it Start returns
// ErrZooKeeperNotCompiled.
//
// Layout (rpcx's, so rpcx servers and courier clients can share a
// registry): for each service a persistent node "/BasePath/service" and
// below it an ephemeral node "/BasePath/service/network@address" whose data
// is the URL-encoded metadata given to Register (plus "tps=N" when Metrics
// and UpdateInterval are set). Ephemeral nodes belong to the plugin's
// ZooKeeper session, so a crashed server's nodes vanish when its session
// expires, Expired (default DefaultRegistryTTL, 10 s, as negotiated with
// the ZooKeeper server) after its last contact; Stop deletes them at once.
//
// Use:
//
//	r := serverplugin.NewZooKeeperRegisterPlugin(
//		serverplugin.WithZKServiceAddress("tcp@127.0.0.1:8972"),
//		serverplugin.WithZKServersAddress([]string{"127.0.0.1:2181"}),
//		serverplugin.WithZKBasePath("/rpcx_test"))
//	r.ServerStarted = s.Started // optional: register once the listener serves
//	if err := r.Start(); err != nil { ... }
//	s.Plugins.Add(r)
//	s.RegisterName("Arith", new(Arith), "weight=10")
//
// Registry outages: Start returns an error only for a bad configuration; it
// does not wait for ZooKeeper. The plugin creates its nodes as soon as a
// session is established and creates them again whenever it gets a new
// session (after the old one expired while ZooKeeper was unreachable), and
// retries failed writes with a backoff of 100 ms to 5 s. Failures are
// logged (Warn), once per outage.
//
// The exported fields must be set before Start and not changed after; the
// methods are safe for concurrent use.
type ZooKeeperRegisterPlugin struct {
	// ServiceAddress is the server's address as clients dial it, e.g.
	// "tcp@127.0.0.1:8972".
	ServiceAddress string
	// ZooKeeperServers are the ZooKeeper servers, "host:port".
	ZooKeeperServers []string
	// BasePath is the path prefix of all services, e.g. "/rpcx_test".
	BasePath string
	// Metrics, when set, receives the meters "connections" (marked by
	// HandleConnAccept) and "calls" (marked by PreCall); every
	// UpdateInterval the one-minute call rate is published as "tps" in each
	// node's data.
	Metrics metrics.Registry
	// Services lists the names registered so far (maintained by the plugin;
	// read it only when no Register call runs).
	Services []string
	// UpdateInterval is how often "tps" is refreshed when Metrics is set;
	// zero means never. It does not affect liveness (see Expired).
	UpdateInterval time.Duration
	// Expired is the ZooKeeper session timeout asked for (a courier
	// addition); zero means DefaultRegistryTTL. The server clamps it to its
	// own minSessionTimeout..maxSessionTimeout.
	Expired time.Duration
	// Options configures the connection (Username and Password become a
	// "digest" auth; ConnectionTimeout bounds Stop's deletes).
	Options *RegistryOptions
	// ServerStarted delays all writes until it is closed (a courier
	// addition; pass the server's Started channel so a client never finds a
	// server that does not accept connections yet). Nil means write at once.
	ServerStarted chan struct{}
	// Server, when set (usually the *server.Server the plugin is added to),
	// is told through NotifyReadiness whenever Ready's answer changes, so
	// the Health service's Watch learns it at once (a courier addition).
	Server ReadinessNotifier

	h registryHandle
}

// ZooKeeperOpt is an option of NewZooKeeperRegisterPlugin.
type ZooKeeperOpt func(*ZooKeeperRegisterPlugin)

// NewZooKeeperRegisterPlugin returns a plugin configured by opts; call
// Start before adding it to a server.
func NewZooKeeperRegisterPlugin(opts ...ZooKeeperOpt) *ZooKeeperRegisterPlugin {
	p := &ZooKeeperRegisterPlugin{}
	for _, o := range opts {
		o(p)
	}
	return p
}

// WithZKServiceAddress sets ServiceAddress.
func WithZKServiceAddress(addr string) ZooKeeperOpt {
	return func(p *ZooKeeperRegisterPlugin) { p.ServiceAddress = addr }
}

// WithZKServersAddress sets ZooKeeperServers.
func WithZKServersAddress(addrs []string) ZooKeeperOpt {
	return func(p *ZooKeeperRegisterPlugin) { p.ZooKeeperServers = addrs }
}

// WithZKBasePath sets BasePath.
func WithZKBasePath(path string) ZooKeeperOpt {
	return func(p *ZooKeeperRegisterPlugin) { p.BasePath = path }
}

// WithZKMetrics sets Metrics.
func WithZKMetrics(m metrics.Registry) ZooKeeperOpt {
	return func(p *ZooKeeperRegisterPlugin) { p.Metrics = m }
}

// WithZkOptions sets Options.
func WithZkOptions(o *RegistryOptions) ZooKeeperOpt {
	return func(p *ZooKeeperRegisterPlugin) { p.Options = o }
}

// WithZkUpdateInterval sets UpdateInterval.
func WithZkUpdateInterval(d time.Duration) ZooKeeperOpt {
	return func(p *ZooKeeperRegisterPlugin) { p.UpdateInterval = d }
}

// zkConfig is what the plugin hands to its registrar.
type zkConfig struct {
	serviceAddress string
	servers        []string
	basePath       string
	metrics        metrics.Registry
	updateInterval time.Duration
	session        time.Duration
	options        *RegistryOptions
	serverStarted  chan struct{}
}

// Start validates the configuration and starts registering in the
// background; it does not wait for ZooKeeper. A bad configuration gives an
// error wrapping ErrRegistryConfig; without the "zookeeper" build tag it
// returns ErrZooKeeperNotCompiled. Start on a started plugin does nothing;
// Start after Stop starts afresh with no services.
func (p *ZooKeeperRegisterPlugin) Start() error {
	cfg := zkConfig{p.ServiceAddress, p.ZooKeeperServers, p.BasePath, p.Metrics,
		p.UpdateInterval, registryTTL(p.Expired), p.Options, p.ServerStarted}
	return p.h.start(&p.Services, p.Server, func() (registrar, error) { return newZKRegistrar(cfg) })
}

// Stop deletes every node of this plugin, closes the session and waits for
// the background work to end. If ZooKeeper does not answer within Options'
// connection timeout, the nodes go when the session expires. It is
// idempotent and returns nil when the plugin never started.
func (p *ZooKeeperRegisterPlugin) Stop() error { return p.h.stop() }

// Register adds the service name with URL-encoded metadata; it is the
// server.RegisterPlugin hook. When a session is up the node exists when
// Register returns, otherwise it is created in the background once
// ZooKeeper answers. Before Start it only records the service, and Start publishes it
// (programs that learn their address after listening register first); after
// Stop it returns ErrRegistryStopped.
func (p *ZooKeeperRegisterPlugin) Register(name string, rcvr interface{}, metadata string) error {
	return p.h.register(&p.Services, name, metadata)
}

// RegisterFunction registers the service serviceName like Register; it is
// the server.RegisterFunctionPlugin hook.
func (p *ZooKeeperRegisterPlugin) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	return p.h.register(&p.Services, serviceName, metadata)
}

// Unregister removes the service name and deletes its node; names never
// registered are ignored. Errors as for Register.
func (p *ZooKeeperRegisterPlugin) Unregister(name string) error {
	return p.h.unregister(&p.Services, name)
}

// UpdateMetadata replaces the metadata of the registered service name (for
// example "weight=5" or "state=inactive") and rewrites its node; it is a
// courier addition. Unknown names give an error wrapping ErrRegistryConfig.
func (p *ZooKeeperRegisterPlugin) UpdateMetadata(name, metadata string) error {
	return p.h.update(name, metadata)
}

// HandleConnAccept marks the "connections" meter when Metrics is set and
// keeps the connection (server.PostConnAcceptPlugin).
func (p *ZooKeeperRegisterPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	markMeter(p.Metrics, "connections")
	return conn, true
}

// PreCall marks the "calls" meter when Metrics is set and returns args
// unchanged (server.PreCallPlugin).
func (p *ZooKeeperRegisterPlugin) PreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error) {
	markMeter(p.Metrics, "calls")
	return args, nil
}

// Ready reports whether the plugin has published the server: false
// before Start and after Stop, and until every registered service has been
// written to the registry at least once (a later registry outage does not
// change it). It is the server.ReadinessPlugin hook, so a server's /readyz
// and Health status stay NOT_SERVING until its registries list it. Safe for
// concurrent use.
func (p *ZooKeeperRegisterPlugin) Ready() bool { return p.h.ready() }
