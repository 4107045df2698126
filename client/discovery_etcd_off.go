//go:build !etcd

package client

import (
	"errors"

	"github.com/courier-rpc/courier/share"
)

// EtcdDiscovery is rpcx's name for the etcd v2 discovery; see
// EtcdV3Discovery.
type EtcdDiscovery = EtcdV3Discovery

// EtcdV3Discovery is the etcd (v3 API) discovery. This build has no etcd
// support: rebuild with -tags etcd. Its methods exist so that code using the
// type compiles; a value can only be the zero value and lists nothing.
type EtcdV3Discovery struct {
	// RetriesAfterWatchFailed: see the etcd build.
	RetriesAfterWatchFailed int
	// AllowKeyNotFound: see the etcd build.
	AllowKeyNotFound bool

	w watchers
}

// NewEtcdDiscovery returns ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdDiscovery(basePath string, servicePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return nil, ErrEtcdNotCompiled
}

// NewEtcdDiscoveryTemplate returns ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdDiscoveryTemplate(basePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return nil, ErrEtcdNotCompiled
}

// NewEtcdV3Discovery returns ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdV3Discovery(basePath string, servicePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return nil, ErrEtcdNotCompiled
}

// NewEtcdV3DiscoveryTemplate returns ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdV3DiscoveryTemplate(basePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return nil, ErrEtcdNotCompiled
}

// GetServices returns nil.
func (d *EtcdV3Discovery) GetServices() []*KVPair { return nil }

// WatchService returns a channel that receives nothing.
func (d *EtcdV3Discovery) WatchService() chan []*KVPair { return d.w.add() }

// RemoveWatcher unregisters and closes ch.
func (d *EtcdV3Discovery) RemoveWatcher(ch chan []*KVPair) { d.w.remove(ch) }

// SetFilter does nothing.
func (d *EtcdV3Discovery) SetFilter(ServiceDiscoveryFilter) {}

// Clone returns ErrEtcdNotCompiled.
func (d *EtcdV3Discovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return nil, ErrEtcdNotCompiled
}

// Close closes the watcher channels.
func (d *EtcdV3Discovery) Close() { d.w.close() }

// ErrEtcdNotCompiled is returned by the etcd discoveries when courier was
// built without the "etcd" build tag.
var ErrEtcdNotCompiled = errors.New("courier: etcd support not compiled in; rebuild with -tags etcd")
