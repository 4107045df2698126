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
// compiles; the constructors return an empty discovery (never nil) with
// the error.
type MDNSDiscovery struct {
	// Timeout: see the mdns build.
	Timeout time.Duration
	// WatchInterval: see the mdns build.
	WatchInterval time.Duration

	serverList
}

// NewMDNSDiscovery returns an empty discovery and ErrMDNSNotCompiled: rebuild with -tags mdns.
func NewMDNSDiscovery(service string, timeout time.Duration, watchInterval time.Duration, domain string) (*MDNSDiscovery, error) {
	return &MDNSDiscovery{}, ErrMDNSNotCompiled
}

// NewMDNSDiscoveryOnInterfaces returns an empty discovery and ErrMDNSNotCompiled: rebuild with
// -tags mdns.
func NewMDNSDiscoveryOnInterfaces(service string, timeout time.Duration, watchInterval time.Duration, domain string, ifaces []net.Interface) (*MDNSDiscovery, error) {
	return &MDNSDiscovery{}, ErrMDNSNotCompiled
}

// Clone returns an empty discovery and ErrMDNSNotCompiled.
func (d *MDNSDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return &MDNSDiscovery{}, ErrMDNSNotCompiled
}

// Close closes the watcher channels.
func (d *MDNSDiscovery) Close() { d.closeWatchers() }
