//go:build mdns

package serverplugin

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"

	"github.com/courier-rpc/courier/log"
)

// mdnsTXTMax is the longest string a DNS TXT record can hold.
const mdnsTXTMax = 255

// mdnsServiceMeta is one service in the TXT record (rpcx's encoding).
type mdnsServiceMeta struct {
	Service        string `json:"service,omitempty"`
	Meta           string `json:"meta,omitempty"`
	ServiceAddress string `json:"service_address,omitempty"`
}

// mdnsRegistrar keeps one zeroconf server announcing the plugin's
// services, replacing it whenever the TXT record changes.
type mdnsRegistrar struct {
	cfg      mdnsConfig
	instance string
	host     string
	ips      []string
	entries  entrySet
	registrarLoop

	mu    sync.Mutex // guards the fields below and serializes announce
	srv   *zeroconf.Server
	text  []string // TXT of srv
	ready bool
}

func newMDNSRegistrar(cfg mdnsConfig) (registrar, error) {
	if err := checkServiceAddress(cfg.serviceAddress); err != nil {
		return nil, err
	}
	host, port := splitServiceHostPort(cfg.serviceAddress)
	if cfg.port <= 0 {
		cfg.port = port
	}
	if cfg.port <= 0 || cfg.port > 65535 {
		return nil, fmt.Errorf("%w: no port for the mDNS SRV record (ServiceAddress %q, port %d)", ErrRegistryConfig, cfg.serviceAddress, cfg.port)
	}
	if cfg.domain == "" {
		cfg.domain = "local"
	}
	r := &mdnsRegistrar{
		cfg:           cfg,
		instance:      "courier-" + strings.NewReplacer("@", "-", ":", "-", "/", "-", ".", "-", "[", "", "]", "").Replace(cfg.serviceAddress),
		host:          mdnsHostName(),
		ips:           []string{"127.0.0.1"},
		registrarLoop: newRegistrarLoop("mdns", nil, cfg.serviceAddress),
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		r.ips = []string{ip.String()}
	}
	go r.run()
	return r, nil
}

func mdnsHostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "courier"
	}
	return strings.ReplaceAll(h, ".", "-")
}

// texts encodes the services as TXT strings: one string when the whole
// list fits, else one per service.
func (r *mdnsRegistrar) texts(vals map[string]string) ([]string, error) {
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	slices.Sort(names)
	all := make([]mdnsServiceMeta, 0, len(names))
	for _, n := range names {
		all = append(all, mdnsServiceMeta{Service: n, Meta: vals[n], ServiceAddress: r.cfg.serviceAddress})
	}
	s, err := mdnsEncode(all)
	if err != nil {
		return nil, err
	}
	if len(s) <= mdnsTXTMax {
		return []string{s}, nil
	}
	out := make([]string, 0, len(all))
	for _, m := range all {
		s, err := mdnsEncode([]mdnsServiceMeta{m})
		if err != nil {
			return nil, err
		}
		if len(s) > mdnsTXTMax {
			return nil, fmt.Errorf("%w: service %q: encoded metadata is %d bytes, more than an mDNS TXT string holds (%d)", ErrRegistryConfig, m.Service, len(s), mdnsTXTMax)
		}
		out = append(out, s)
	}
	return out, nil
}

func mdnsEncode(list []mdnsServiceMeta) (string, error) {
	b, err := json.Marshal(list)
	if err != nil {
		return "", err
	}
	return url.QueryEscape(string(b)), nil
}

func (r *mdnsRegistrar) book() *entrySet { return &r.entries }

func (r *mdnsRegistrar) register(name, metadata string) error {
	if name == "" {
		return fmt.Errorf("%w: empty service name", ErrRegistryConfig)
	}
	if _, err := r.texts(map[string]string{name: metadata}); err != nil {
		return err
	}
	if err := r.entries.set(name, metadata); err != nil {
		return err
	}
	return r.announce()
}

func (r *mdnsRegistrar) update(name, metadata string) error {
	if _, err := r.texts(map[string]string{name: metadata}); err != nil {
		return err
	}
	if err := r.entries.replace(name, metadata); err != nil {
		return err
	}
	return r.announce()
}

func (r *mdnsRegistrar) unregister(name string) error {
	r.entries.remove(name)
	return r.announce()
}

// announce replaces the zeroconf server when the TXT record changed (none
// when no service is left). Before ServerStarted it does nothing.
func (r *mdnsRegistrar) announce() error {
	if r.ctx.Err() != nil {
		return ErrRegistryStopped
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready {
		return nil
	}
	vals := r.entries.snapshot(r.cfg.metrics, r.cfg.updateInterval)
	var text []string
	if len(vals) > 0 {
		var err error
		if text, err = r.texts(vals); err != nil {
			return err
		}
	}
	if r.srv != nil && slices.Equal(text, r.text) {
		r.announced(vals)
		return nil
	}
	if r.srv != nil {
		r.srv.Shutdown() // sends a goodbye
		r.srv, r.text = nil, nil
	}
	if len(text) == 0 {
		return nil
	}
	srv, err := zeroconf.RegisterProxy(r.instance, MDNSServiceType, r.cfg.domain, r.cfg.port, r.host, r.ips, text, r.cfg.ifaces)
	if err != nil {
		return fmt.Errorf("serverplugin: mdns announce %s: %w", r.cfg.serviceAddress, err)
	}
	r.srv, r.text = srv, text
	r.announced(vals)
	return nil
}

// announced records that vals are in the TXT record (mDNS has no other
// writer, so the value is the plugin's own).
func (r *mdnsRegistrar) announced(vals map[string]string) {
	for name, v := range vals {
		r.entries.wrote(name, v, v)
	}
}

// run waits for ServerStarted, announces, and re-announces every
// UpdateInterval when metrics are kept.
func (r *mdnsRegistrar) run() {
	defer close(r.done)
	if !r.awaitServer(r.cfg.serverStarted, &r.mu, &r.ready) {
		return
	}
	if err := r.announce(); err != nil && r.ctx.Err() == nil {
		logRegistryError(err)
	}
	if r.cfg.metrics == nil || r.cfg.updateInterval <= 0 {
		<-r.ctx.Done()
		return
	}
	t := time.NewTicker(r.cfg.updateInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			if err := r.announce(); err != nil && r.ctx.Err() == nil {
				logRegistryError(err)
			}
		}
	}
}

// stop ends the loop and shuts the zeroconf server down (with a goodbye).
func (r *mdnsRegistrar) stop() error {
	r.end()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Shutdown()
		r.srv, r.text = nil, nil
	}
	return nil
}

// logRegistryError logs a background announcement failure (it cannot be
// returned to anyone).
func logRegistryError(err error) { log.Warnf("%v", err) }
