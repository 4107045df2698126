//go:build !mdns

package client

import (
	"errors"
	"net"
	"time"
)

// ErrMDNSNotCompiled is returned by the mDNS discovery when courier was
// built without the "mdns" build tag.
var ErrMDNSNotCompiled = errors.New("courier: mdns support not compiled in; rebuild with -tags mdns")

// MDNSDiscovery is the mDNS discovery. This build has no mDNS support:
// rebuild with -tags mdns. Its methods exist so that code using the type
// compiles; a value can only be the zero value and lists nothing.
type MDNSDiscovery struct {
	// Timeout: see the mdns build.
	Timeout time.Duration
	// WatchInterval: see the mdns build.
	WatchInterval time.Duration

	w watchers
}

// NewMDNSDiscovery returns ErrMDNSNotCompiled: rebuild with -tags mdns.
func NewMDNSDiscovery(service string, timeout time.Duration, watchInterval time.Duration, domain string) (*MDNSDiscovery, error) {
	return nil, ErrMDNSNotCompiled
}

// NewMDNSDiscoveryOnInterfaces returns ErrMDNSNotCompiled: rebuild with
// -tags mdns.
func NewMDNSDiscoveryOnInterfaces(service string, timeout time.Duration, watchInterval time.Duration, domain string, ifaces []net.Interface) (*MDNSDiscovery, error) {
	return nil, ErrMDNSNotCompiled
}

// GetServices returns nil.
func (d *MDNSDiscovery) GetServices() []*KVPair { return nil }

// WatchService returns a channel that receives nothing.
func (d *MDNSDiscovery) WatchService() chan []*KVPair { return d.w.add() }

// RemoveWatcher unregisters and closes ch.
func (d *MDNSDiscovery) RemoveWatcher(ch chan []*KVPair) { d.w.remove(ch) }

// SetFilter does nothing.
func (d *MDNSDiscovery) SetFilter(ServiceDiscoveryFilter) {}

// Clone returns ErrMDNSNotCompiled.
func (d *MDNSDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return nil, ErrMDNSNotCompiled
}

// Close closes the watcher channels.
func (d *MDNSDiscovery) Close() { d.w.close() }
