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
// type compiles; the constructors return an empty discovery (never nil) with
// the error.
type EtcdV3Discovery struct {
	// RetriesAfterWatchFailed: see the etcd build.
	RetriesAfterWatchFailed int
	// AllowKeyNotFound: see the etcd build.
	AllowKeyNotFound bool

	serverList
}

// NewEtcdDiscovery returns an empty discovery and ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdDiscovery(basePath string, servicePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return &EtcdV3Discovery{}, ErrEtcdNotCompiled
}

// NewEtcdDiscoveryTemplate returns an empty discovery and ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdDiscoveryTemplate(basePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return &EtcdV3Discovery{}, ErrEtcdNotCompiled
}

// NewEtcdV3Discovery returns an empty discovery and ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdV3Discovery(basePath string, servicePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return &EtcdV3Discovery{}, ErrEtcdNotCompiled
}

// NewEtcdV3DiscoveryTemplate returns an empty discovery and ErrEtcdNotCompiled: rebuild with -tags etcd.
func NewEtcdV3DiscoveryTemplate(basePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return &EtcdV3Discovery{}, ErrEtcdNotCompiled
}

// Clone returns an empty discovery and ErrEtcdNotCompiled.
func (d *EtcdV3Discovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return &EtcdV3Discovery{}, ErrEtcdNotCompiled
}

// Close closes the watcher channels.
func (d *EtcdV3Discovery) Close() { d.closeWatchers() }

// ErrEtcdNotCompiled is returned by the etcd discoveries when courier was
// built without the "etcd" build tag.
var ErrEtcdNotCompiled = errors.New("courier: etcd support not compiled in; rebuild with -tags etcd")
