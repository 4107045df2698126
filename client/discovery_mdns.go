//go:build mdns

package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grandcat/zeroconf"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// Defaults of the mDNS discovery.
const (
	// DefaultMDNSTimeout is how long one browse round collects answers when
	// the timeout argument is not positive.
	DefaultMDNSTimeout = time.Second
	// DefaultMDNSWatchInterval is the pause between browse rounds when the
	// watchInterval argument is not positive.
	DefaultMDNSWatchInterval = 10 * time.Second
)

// mdnsServiceType is the DNS-SD service type servers announce
// (serverplugin.MDNSServiceType, rpcx's "_rpcxservices").
const mdnsServiceType = "_rpcxservices"

// ErrMDNSNotCompiled is returned by the mDNS discovery when courier was
// built without the "mdns" build tag; this build has mDNS support, so
// nothing returns it here.
var ErrMDNSNotCompiled = errors.New("courier: mdns support not compiled in; rebuild with -tags mdns")

// MDNSDiscovery is a ServiceDiscovery that finds servers on the local
// network by multicast DNS (DNS-SD), announced by
// serverplugin.MDNSRegisterPlugin (or rpcx's). Every WatchInterval it
// browses for Timeout and takes the servers that answered with the service
// in their TXT record as the new list (dropping state=inactive ones); a
// server that stopped or crashed is thus gone after at most one
// WatchInterval plus Timeout. A round that fails (no multicast interface)
// keeps the last list. Compiled in with the build tag "mdns"
// (github.com/grandcat/zeroconf); without it the constructor returns
// ErrMDNSNotCompiled. It is safe for concurrent use.
//
// Multicast leaves the machine: by default every multicast-capable
// interface is used; NewMDNSDiscoveryOnInterfaces restricts it.
type MDNSDiscovery struct {
	// Timeout is how long each browse round collects answers, as given to
	// the constructor (or DefaultMDNSTimeout); changing it afterwards has
	// no effect.
	Timeout time.Duration
	// WatchInterval is the pause between rounds, as given to the
	// constructor (or DefaultMDNSWatchInterval); changing it afterwards has
	// no effect.
	WatchInterval time.Duration

	service  string
	domain   string
	ifaces   []net.Interface
	timeout  time.Duration
	interval time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	serverList

	rounds atomic.Int64 // completed browse rounds (for tests)
}

// NewMDNSDiscovery returns a discovery of the servers announcing service
// in domain ("" means "local") on every multicast-capable interface. It
// browses once (for timeout) before it returns, then every watchInterval.
// No server answering is not an error: the list starts empty. The
// discovery is never nil, even with an error: a first round that cannot
// run (no usable multicast interface) gives an error wrapping
// share.ErrRegistryUnavailable and a discovery that starts empty and keeps
// browsing every watchInterval; an empty service gives an error wrapping
// ErrBadDiscovery and a discovery that stays empty.
func NewMDNSDiscovery(service string, timeout time.Duration, watchInterval time.Duration, domain string) (*MDNSDiscovery, error) {
	return NewMDNSDiscoveryOnInterfaces(service, timeout, watchInterval, domain, nil)
}

// NewMDNSDiscoveryOnInterfaces is NewMDNSDiscovery restricted to ifaces
// (nil means every multicast-capable interface); a courier addition.
func NewMDNSDiscoveryOnInterfaces(service string, timeout time.Duration, watchInterval time.Duration, domain string, ifaces []net.Interface) (*MDNSDiscovery, error) {
	if strings.TrimSpace(service) == "" {
		d := &MDNSDiscovery{done: closedChan()}
		d.ctx, d.cancel = context.WithCancel(context.Background())
		return d, fmt.Errorf("%w: empty service", ErrBadDiscovery)
	}
	if timeout <= 0 {
		timeout = DefaultMDNSTimeout
	}
	if watchInterval <= 0 {
		watchInterval = DefaultMDNSWatchInterval
	}
	if domain == "" {
		domain = "local"
	}
	d := &MDNSDiscovery{
		Timeout:       timeout,
		WatchInterval: watchInterval,
		service:       service,
		domain:        domain,
		ifaces:        ifaces,
		timeout:       timeout,
		interval:      watchInterval,
		done:          make(chan struct{}),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	kvs, err := d.browse()
	if err != nil {
		go d.run()
		return d, fmt.Errorf("%w: mdns: %w (browsing again every %v)", share.ErrRegistryUnavailable, err, watchInterval)
	}
	d.setRegistry(kvs)
	go d.run()
	return d, nil
}

// mdnsServiceMeta is one service in a TXT record (rpcx's encoding).
type mdnsServiceMeta struct {
	Service        string `json:"service,omitempty"`
	Meta           string `json:"meta,omitempty"`
	ServiceAddress string `json:"service_address,omitempty"`
}

// browse runs one round and returns the servers of the service that
// answered.
func (d *MDNSDiscovery) browse() (map[string]string, error) {
	opts := []zeroconf.ClientOption{zeroconf.SelectIPTraffic(zeroconf.IPv4)}
	if len(d.ifaces) > 0 {
		opts = append(opts, zeroconf.SelectIfaces(d.ifaces))
	}
	res, err := zeroconf.NewResolver(opts...)
	if err != nil {
		return nil, err
	}
	entries := make(chan *zeroconf.ServiceEntry)
	ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
	defer cancel()
	if err := res.Browse(ctx, mdnsServiceType, d.domain, entries); err != nil {
		return nil, err
	}
	kvs := make(map[string]string)
	for e := range entries { // closed when ctx ends
		for _, txt := range e.Text {
			for _, m := range parseMDNSText(txt) {
				if m.Service == d.service && m.ServiceAddress != "" {
					kvs[m.ServiceAddress] = m.Meta
				}
			}
		}
	}
	if d.ctx.Err() != nil {
		return nil, d.ctx.Err()
	}
	return kvs, nil
}

// parseMDNSText decodes one TXT string; garbage gives nil.
func parseMDNSText(txt string) []mdnsServiceMeta {
	s, err := url.QueryUnescape(txt)
	if err != nil {
		return nil
	}
	var list []mdnsServiceMeta
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		log.Debugf("client: mdns: ignoring TXT %q: %v", txt, err)
		return nil
	}
	return list
}

// run browses every interval until Close.
func (d *MDNSDiscovery) run() {
	defer close(d.done)
	for sleepCtx(d.ctx.Done(), d.interval) {
		kvs, err := d.browse()
		if d.ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Debugf("client: mdns discovery of %q: browse failed: %v", d.service, err)
			continue
		}
		d.setRegistry(kvs)
		d.rounds.Add(1)
	}
}

// Clone returns a new discovery of servicePath with the same timeout,
// interval, domain and interfaces. Errors as for NewMDNSDiscovery.
func (d *MDNSDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return NewMDNSDiscoveryOnInterfaces(servicePath, d.timeout, d.interval, d.domain, d.ifaces)
}

// Close stops browsing (ending a round in progress) and closes every
// watcher channel. It is idempotent; GetServices keeps returning the last
// list.
func (d *MDNSDiscovery) Close() {
	d.once.Do(func() {
		d.cancel()
		<-d.done
		d.closeWatchers()
	})
}
