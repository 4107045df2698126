//go:build !zookeeper

package serverplugin

// newZKRegistrar fails without the "zookeeper" build tag, so Start returns
// ErrZooKeeperNotCompiled and no registrar is ever created.
func newZKRegistrar(zkConfig) (registrar, error) { return nil, ErrZooKeeperNotCompiled }
