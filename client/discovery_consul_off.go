//go:build !consul

package client

import (
	"errors"

	"github.com/courier-rpc/courier/share"
)

// ErrConsulNotCompiled is returned by the Consul discovery when
// courier was built without the "consul" build tag.
var ErrConsulNotCompiled = errors.New("courier: consul support not compiled in; rebuild with -tags consul")

// ConsulDiscovery is the Consul discovery. This build has no
// Consul support: rebuild with -tags consul. Its methods exist so that
// code using the type compiles; a value can only be the zero value and
// lists nothing.
type ConsulDiscovery struct {
	// RetriesAfterWatchFailed: see the consul build.
	RetriesAfterWatchFailed int

	w watchers
}

// NewConsulDiscovery returns ErrConsulNotCompiled: rebuild with
// -tags consul.
func NewConsulDiscovery(basePath string, servicePath string, consulAddr []string, options *share.RegistryOptions) (*ConsulDiscovery, error) {
	return nil, ErrConsulNotCompiled
}

// NewConsulDiscoveryTemplate returns ErrConsulNotCompiled: rebuild
// with -tags consul.
func NewConsulDiscoveryTemplate(basePath string, consulAddr []string, options *share.RegistryOptions) (*ConsulDiscovery, error) {
	return nil, ErrConsulNotCompiled
}

// GetServices returns nil.
func (d *ConsulDiscovery) GetServices() []*KVPair { return nil }

// WatchService returns a channel that receives nothing.
func (d *ConsulDiscovery) WatchService() chan []*KVPair { return d.w.add() }

// RemoveWatcher unregisters and closes ch.
func (d *ConsulDiscovery) RemoveWatcher(ch chan []*KVPair) { d.w.remove(ch) }

// SetFilter does nothing.
func (d *ConsulDiscovery) SetFilter(ServiceDiscoveryFilter) {}

// Clone returns ErrConsulNotCompiled.
func (d *ConsulDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return nil, ErrConsulNotCompiled
}

// Close closes the watcher channels.
func (d *ConsulDiscovery) Close() { d.w.close() }
