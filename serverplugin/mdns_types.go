package serverplugin

import (
	"context"
	"errors"
	"net"
	"time"

	metrics "github.com/rcrowley/go-metrics"
)

// ErrMDNSNotCompiled is returned by MDNSRegisterPlugin.Start (and by the
// mDNS discovery in package client) when courier was built without the
// "mdns" build tag.
var ErrMDNSNotCompiled = errors.New("courier: mdns support not compiled in; rebuild with -tags mdns")

// MDNSServiceType is the DNS-SD service type under which servers announce
// themselves ("_rpcxservices", rpcx's, so rpcx and courier peers find each
// other).
const MDNSServiceType = "_rpcxservices"

// MDNSRegisterPlugin announces a server's services on the local network
// with multicast DNS (DNS-SD), so that clients using
// client.NewMDNSDiscovery find it without a registry server. It is compiled
// in with the build tag "mdns" (github.com/grandcat/zeroconf); without it
// Start returns ErrMDNSNotCompiled.
//
// The server answers DNS-SD queries for MDNSServiceType in the domain
// (default "local") with an instance named after ServiceAddress, an SRV
// record with the port, A/AAAA records with the service address's IP (or
// 127.0.0.1 when the address has no IP literal; clients use the address in
// the TXT record), and a TXT record holding the registered services as the
// URL-escaped JSON list [{"service":name,"meta":metadata,
// "service_address":ServiceAddress}] (rpcx's encoding; split into one TXT
// string per service when the list exceeds 255 bytes). Every change
// re-announces the server; Stop sends a goodbye. mDNS has no liveness of
// its own: a crashed server is absent from the next discovery round.
//
// Multicast leaves the machine: by default every multicast-capable
// interface is used. Set Interfaces to restrict it.
//
// The exported fields must be set before Start and not changed after; the
// methods are safe for concurrent use.
type MDNSRegisterPlugin struct {
	// ServiceAddress is the server's address as clients dial it, e.g.
	// "tcp@127.0.0.1:8972".
	ServiceAddress string
	// Metrics, when set, receives the meters "connections" and "calls";
	// every UpdateInterval the one-minute call rate is published as "tps"
	// in each service's metadata.
	Metrics metrics.Registry
	// Services lists the names registered so far (maintained by the plugin;
	// read it only when no Register call runs).
	Services []string
	// UpdateInterval is how often "tps" is refreshed when Metrics is set;
	// zero means never.
	UpdateInterval time.Duration
	// Interfaces restricts the announcements to these interfaces (a courier
	// addition); nil means every multicast-capable interface.
	Interfaces []net.Interface
	// ServerStarted delays the announcement until it is closed (a courier
	// addition; pass the server's Started channel). Nil means announce at
	// once.
	ServerStarted chan struct{}
	// Server, when set (usually the *server.Server the plugin is added to),
	// is told through NotifyReadiness whenever Ready's answer changes, so
	// the Health service's Watch learns it at once (a courier addition).
	Server ReadinessNotifier

	port   int
	domain string
	h      registryHandle
}

// NewMDNSRegisterPlugin returns a plugin announcing serviceAddress (e.g.
// "tcp@127.0.0.1:8972") with port in the SRV record (0 means the port of
// serviceAddress), in domain ("" means "local"). m and updateInterval set
// Metrics and UpdateInterval. Call Start before adding it to a server.
func NewMDNSRegisterPlugin(serviceAddress string, port int, m metrics.Registry, updateInterval time.Duration, domain string) *MDNSRegisterPlugin {
	return &MDNSRegisterPlugin{
		ServiceAddress: serviceAddress,
		Metrics:        m,
		UpdateInterval: updateInterval,
		port:           port,
		domain:         domain,
	}
}

// mdnsConfig is what the plugin hands to its registrar.
type mdnsConfig struct {
	serviceAddress string
	port           int
	domain         string
	metrics        metrics.Registry
	updateInterval time.Duration
	ifaces         []net.Interface
	serverStarted  chan struct{}
}

// Start validates the configuration and starts announcing (once a service
// is registered). A bad configuration gives an error wrapping
// ErrRegistryConfig; without the "mdns" build tag it returns
// ErrMDNSNotCompiled. Start on a started plugin does nothing; Start after
// Stop starts afresh with no services.
func (p *MDNSRegisterPlugin) Start() error {
	cfg := mdnsConfig{p.ServiceAddress, p.port, p.domain, p.Metrics, p.UpdateInterval, p.Interfaces, p.ServerStarted}
	return p.h.start(&p.Services, p.Server, func() (registrar, error) { return newMDNSRegistrar(cfg) })
}

// Stop sends a goodbye for the server and stops answering queries. It is
// idempotent and returns nil when the plugin never started.
func (p *MDNSRegisterPlugin) Stop() error { return p.h.stop() }

// Register adds the service name with URL-encoded metadata and
// re-announces; it is the server.RegisterPlugin hook. Metadata too long for
// a TXT string gives an error wrapping ErrRegistryConfig. Before Start it only records the service, and Start publishes it
// (programs that learn their address after listening register first); after
// Stop it returns ErrRegistryStopped.
func (p *MDNSRegisterPlugin) Register(name string, rcvr interface{}, metadata string) error {
	return p.h.register(&p.Services, name, metadata)
}

// RegisterFunction registers the service serviceName like Register; it is
// the server.RegisterFunctionPlugin hook.
func (p *MDNSRegisterPlugin) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	return p.h.register(&p.Services, serviceName, metadata)
}

// Unregister removes the service name and re-announces; names never
// registered are ignored. Errors as for Register.
func (p *MDNSRegisterPlugin) Unregister(name string) error {
	return p.h.unregister(&p.Services, name)
}

// UpdateMetadata replaces the metadata of the registered service name and
// re-announces; it is a courier addition. Unknown names give an error
// wrapping ErrRegistryConfig.
func (p *MDNSRegisterPlugin) UpdateMetadata(name, metadata string) error {
	return p.h.update(name, metadata)
}

// HandleConnAccept marks the "connections" meter when Metrics is set and
// keeps the connection (server.PostConnAcceptPlugin).
func (p *MDNSRegisterPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	markMeter(p.Metrics, "connections")
	return conn, true
}

// PreCall marks the "calls" meter when Metrics is set and returns args
// unchanged (server.PreCallPlugin).
func (p *MDNSRegisterPlugin) PreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error) {
	markMeter(p.Metrics, "calls")
	return args, nil
}

// Ready reports whether the plugin has published the server: false
// before Start and after Stop, and until every registered service has been
// written to the registry at least once (a later registry outage does not
// change it). It is the server.ReadinessPlugin hook, so a server's /readyz
// and Health status stay NOT_SERVING until its registries list it. Safe for
// concurrent use.
func (p *MDNSRegisterPlugin) Ready() bool { return p.h.ready() }
