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
// code using the type compiles; a value can only be the zero value and
// lists nothing.
type ZookeeperDiscovery struct {
	// RetriesAfterWatchFailed: see the zookeeper build.
	RetriesAfterWatchFailed int

	w watchers
}

// NewZookeeperDiscovery returns ErrZooKeeperNotCompiled: rebuild with
// -tags zookeeper.
func NewZookeeperDiscovery(basePath string, servicePath string, zkAddr []string, options *share.RegistryOptions) (*ZookeeperDiscovery, error) {
	return nil, ErrZooKeeperNotCompiled
}

// NewZookeeperDiscoveryTemplate returns ErrZooKeeperNotCompiled: rebuild
// with -tags zookeeper.
func NewZookeeperDiscoveryTemplate(basePath string, zkAddr []string, options *share.RegistryOptions) (*ZookeeperDiscovery, error) {
	return nil, ErrZooKeeperNotCompiled
}

// GetServices returns nil.
func (d *ZookeeperDiscovery) GetServices() []*KVPair { return nil }

// WatchService returns a channel that receives nothing.
func (d *ZookeeperDiscovery) WatchService() chan []*KVPair { return d.w.add() }

// RemoveWatcher unregisters and closes ch.
func (d *ZookeeperDiscovery) RemoveWatcher(ch chan []*KVPair) { d.w.remove(ch) }

// SetFilter does nothing.
func (d *ZookeeperDiscovery) SetFilter(ServiceDiscoveryFilter) {}

// Clone returns ErrZooKeeperNotCompiled.
func (d *ZookeeperDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return nil, ErrZooKeeperNotCompiled
}

// Close closes the watcher channels.
func (d *ZookeeperDiscovery) Close() { d.w.close() }
