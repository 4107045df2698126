package serverplugin

import (
	"context"
	"errors"
	"net"
	"time"

	metrics "github.com/rcrowley/go-metrics"
)

// ErrConsulNotCompiled is returned by ConsulRegisterPlugin.Start (and by
// the Consul discovery in package client) when courier was built without
// the "consul" build tag.
var ErrConsulNotCompiled = errors.New("courier: consul support not compiled in; rebuild with -tags consul")

// ConsulRegisterPlugin registers a server's services in Consul so that
// clients using client.NewConsulDiscovery find it. It is compiled in with
// the build tag "consul"; without it Start returns ErrConsulNotCompiled.
//
// Layout (rpcx's, so rpcx servers and courier clients can share a
// registry): for each service the KV key "BasePath/service" holds the
// service name and "BasePath/service/network@address" (no leading slash)
// holds the URL-encoded metadata given to Register (plus "tps=N" when
// Metrics and UpdateInterval are set).
//
// Liveness: the plugin registers an agent service named "courier" (ID
// "courier-<address>-<random>") with a TTL check of Expired (default
// DefaultRegistryTTL, 10 s) that it passes every Expired/3, and holds its
// KV keys with a Consul session bound to that check (behavior "delete").
// When the server dies the check goes critical after Expired, Consul
// invalidates the session and deletes the keys; the agent service itself
// is reaped one minute later. Stop deletes the keys, the session and the
// agent service at once.
//
// Registry outages: Start returns an error only for a bad configuration; it
// does not wait for Consul. The plugin (re)creates its agent service,
// session and keys whenever they are missing — after a Consul restart
// (a dev agent starts empty), or after the session was invalidated —
// retrying with a backoff of 100 ms to 5 s. Failures are logged (Warn),
// once per outage. Only the first of ConsulServers that answers is used.
//
// The exported fields must be set before Start and not changed after; the
// methods are safe for concurrent use.
type ConsulRegisterPlugin struct {
	// ServiceAddress is the server's address as clients dial it, e.g.
	// "tcp@127.0.0.1:8972".
	ServiceAddress string
	// ConsulServers are Consul agents' HTTP API addresses, "host:port" (or
	// "https://host:port"); the plugin talks to one at a time.
	ConsulServers []string
	// BasePath is the key prefix of all services, e.g. "/rpcx_test".
	BasePath string
	// Metrics, when set, receives the meters "connections" (marked by
	// HandleConnAccept) and "calls" (marked by PreCall); every
	// UpdateInterval the one-minute call rate is published as "tps".
	Metrics metrics.Registry
	// Services lists the names registered so far (maintained by the plugin;
	// read it only when no Register call runs).
	Services []string
	// UpdateInterval is how often "tps" is refreshed when Metrics is set;
	// zero means never. It does not affect liveness (see Expired).
	UpdateInterval time.Duration
	// Expired is the TTL of the liveness check (a courier addition); zero
	// means DefaultRegistryTTL. Values below one second are raised to one
	// second.
	Expired time.Duration
	// Options configures the connection: TLS, ConnectionTimeout (each
	// request), and the ACL token in Password (with an empty Username;
	// with a Username both are sent as HTTP basic auth).
	Options *RegistryOptions
	// ServerStarted delays all writes until it is closed (a courier
	// addition; pass the server's Started channel). Nil means write at once.
	ServerStarted chan struct{}
	// Server, when set (usually the *server.Server the plugin is added to),
	// is told through NotifyReadiness whenever Ready's answer changes, so
	// the Health service's Watch learns it at once (a courier addition).
	Server ReadinessNotifier

	h registryHandle
}

// ConsulOpt is an option of NewConsulRegisterPlugin.
type ConsulOpt func(*ConsulRegisterPlugin)

// NewConsulRegisterPlugin returns a plugin configured by o; call Start
// before adding it to a server.
func NewConsulRegisterPlugin(o ...ConsulOpt) *ConsulRegisterPlugin {
	p := &ConsulRegisterPlugin{}
	for _, f := range o {
		f(p)
	}
	return p
}

// WithConsulServiceAddress sets ServiceAddress.
func WithConsulServiceAddress(addr string) ConsulOpt {
	return func(p *ConsulRegisterPlugin) { p.ServiceAddress = addr }
}

// WithConsulServers sets ConsulServers.
func WithConsulServers(addrs []string) ConsulOpt {
	return func(p *ConsulRegisterPlugin) { p.ConsulServers = addrs }
}

// WithConsulBasePath sets BasePath.
func WithConsulBasePath(path string) ConsulOpt {
	return func(p *ConsulRegisterPlugin) { p.BasePath = path }
}

// WithConsulMetrics sets Metrics.
func WithConsulMetrics(m metrics.Registry) ConsulOpt {
	return func(p *ConsulRegisterPlugin) { p.Metrics = m }
}

// WithConsulOptions sets Options.
func WithConsulOptions(o *RegistryOptions) ConsulOpt {
	return func(p *ConsulRegisterPlugin) { p.Options = o }
}

// WithConsulUpdateInterval sets UpdateInterval.
func WithConsulUpdateInterval(d time.Duration) ConsulOpt {
	return func(p *ConsulRegisterPlugin) { p.UpdateInterval = d }
}

// consulConfig is what the plugin hands to its registrar.
type consulConfig struct {
	serviceAddress string
	servers        []string
	basePath       string
	metrics        metrics.Registry
	updateInterval time.Duration
	ttl            time.Duration
	options        *RegistryOptions
	serverStarted  chan struct{}
}

// Start validates the configuration and starts registering in the
// background; it does not wait for Consul. A bad configuration gives an
// error wrapping ErrRegistryConfig; without the "consul" build tag it
// returns ErrConsulNotCompiled. Start on a started plugin does nothing;
// Start after Stop starts afresh with no services.
func (p *ConsulRegisterPlugin) Start() error {
	cfg := consulConfig{p.ServiceAddress, p.ConsulServers, p.BasePath, p.Metrics,
		p.UpdateInterval, registryTTL(p.Expired), p.Options, p.ServerStarted}
	return p.h.start(&p.Services, p.Server, func() (registrar, error) { return newConsulRegistrar(cfg) })
}

// Stop deletes every key of this plugin, destroys its session, deregisters
// its agent service and waits for the background work to end, waiting at
// most Options' connection timeout per request; if Consul does not answer,
// the keys go when the check's TTL runs out. It is idempotent and returns
// nil when the plugin never started.
func (p *ConsulRegisterPlugin) Stop() error { return p.h.stop() }

// Register adds the service name with URL-encoded metadata; it is the
// server.RegisterPlugin hook. When Consul answers the key exists when
// Register returns, otherwise it is written in the background. Before Start it only records the service, and Start publishes it
// (programs that learn their address after listening register first); after
// Stop it returns ErrRegistryStopped.
func (p *ConsulRegisterPlugin) Register(name string, rcvr interface{}, metadata string) error {
	return p.h.register(&p.Services, name, metadata)
}

// RegisterFunction registers the service serviceName like Register; it is
// the server.RegisterFunctionPlugin hook.
func (p *ConsulRegisterPlugin) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	return p.h.register(&p.Services, serviceName, metadata)
}

// Unregister removes the service name and deletes its key; names never
// registered are ignored. Errors as for Register.
func (p *ConsulRegisterPlugin) Unregister(name string) error {
	return p.h.unregister(&p.Services, name)
}

// UpdateMetadata replaces the metadata of the registered service name (for
// example "weight=5" or "state=inactive") and rewrites its key; it is a
// courier addition. Unknown names give an error wrapping ErrRegistryConfig.
func (p *ConsulRegisterPlugin) UpdateMetadata(name, metadata string) error {
	return p.h.update(name, metadata)
}

// HandleConnAccept marks the "connections" meter when Metrics is set and
// keeps the connection (server.PostConnAcceptPlugin).
func (p *ConsulRegisterPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	markMeter(p.Metrics, "connections")
	return conn, true
}

// PreCall marks the "calls" meter when Metrics is set and returns args
// unchanged (server.PreCallPlugin).
func (p *ConsulRegisterPlugin) PreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error) {
	markMeter(p.Metrics, "calls")
	return args, nil
}

// Ready reports whether the plugin has published the server: false
// before Start and after Stop, and until every registered service has been
// written to the registry at least once (a later registry outage does not
// change it). It is the server.ReadinessPlugin hook, so a server's /readyz
// and Health status stay NOT_SERVING until its registries list it. Safe for
// concurrent use.
func (p *ConsulRegisterPlugin) Ready() bool { return p.h.ready() }
