//go:build !zookeeper

package client

import (
	"errors"

	"github.com/courier-rpc/courier/share"
)

// ErrZooKeeperNotCompiled is returned by the ZooKeeper discovery when
// courier was built without the "zookeeper" build tag.
var ErrZooKeeperNotCompiled = errors.New("courier: zookeeper support not compiled in; rebuild with -tags zookeeper")

// ZookeeperDiscovery is the ZooKeeper discovery. This build has no
// ZooKeeper support: rebuild with -tags zookeeper. Its methods exist so that
// code using the type compiles; the constructors return an empty discovery
// (never nil) with the error.
type ZookeeperDiscovery struct {
	// RetriesAfterWatchFailed: see the zookeeper build.
	RetriesAfterWatchFailed int

	serverList
}

// NewZookeeperDiscovery returns an empty discovery and ErrZooKeeperNotCompiled: rebuild with
// -tags zookeeper.
func NewZookeeperDiscovery(basePath string, servicePath string, zkAddr []string, options *share.RegistryOptions) (*ZookeeperDiscovery, error) {
	return &ZookeeperDiscovery{}, ErrZooKeeperNotCompiled
}

// NewZookeeperDiscoveryTemplate returns an empty discovery and ErrZooKeeperNotCompiled: rebuild
// with -tags zookeeper.
func NewZookeeperDiscoveryTemplate(basePath string, zkAddr []string, options *share.RegistryOptions) (*ZookeeperDiscovery, error) {
	return &ZookeeperDiscovery{}, ErrZooKeeperNotCompiled
}

// Clone returns an empty discovery and ErrZooKeeperNotCompiled.
func (d *ZookeeperDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return &ZookeeperDiscovery{}, ErrZooKeeperNotCompiled
}

// Close closes the watcher channels.
func (d *ZookeeperDiscovery) Close() { d.closeWatchers() }
