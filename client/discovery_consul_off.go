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
// code using the type compiles; the constructors return an empty discovery
// (never nil) with the error.
type ConsulDiscovery struct {
	// RetriesAfterWatchFailed: see the consul build.
	RetriesAfterWatchFailed int

	serverList
}

// NewConsulDiscovery returns an empty discovery and ErrConsulNotCompiled: rebuild with
// -tags consul.
func NewConsulDiscovery(basePath string, servicePath string, consulAddr []string, options *share.RegistryOptions) (*ConsulDiscovery, error) {
	return &ConsulDiscovery{}, ErrConsulNotCompiled
}

// NewConsulDiscoveryTemplate returns an empty discovery and ErrConsulNotCompiled: rebuild
// with -tags consul.
func NewConsulDiscoveryTemplate(basePath string, consulAddr []string, options *share.RegistryOptions) (*ConsulDiscovery, error) {
	return &ConsulDiscovery{}, ErrConsulNotCompiled
}

// Clone returns an empty discovery and ErrConsulNotCompiled.
func (d *ConsulDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return &ConsulDiscovery{}, ErrConsulNotCompiled
}

// Close closes the watcher channels.
func (d *ConsulDiscovery) Close() { d.closeWatchers() }
