package serverplugin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/courier-rpc/courier/share"
)

// RegistryOptions configures a register plugin's connection to its
// registry; it is share.RegistryOptions (rpcx's libkv store.Config).
type RegistryOptions = share.RegistryOptions

// DefaultRegistryTTL is how long a registry entry outlives its server when
// the plugin's Expired field is zero: the lease (etcd) or session (ZooKeeper)
// or check TTL (Consul) after which a crashed server disappears by itself.
const DefaultRegistryTTL = 10 * time.Second

// Registry errors returned (wrapped) by the register plugins.
var (
	// ErrRegistryConfig reports a plugin configuration that cannot work,
	// such as no registry servers or a ServiceAddress without "network@".
	ErrRegistryConfig = errors.New("serverplugin: bad registry configuration")
	// ErrRegistryStopped is returned by Register and friends after Stop.
	ErrRegistryStopped = errors.New("serverplugin: registry plugin stopped")
)

// checkServiceAddress validates "network@host:port".
func checkServiceAddress(addr string) error {
	network, hostport, ok := strings.Cut(addr, "@")
	if !ok || network == "" || hostport == "" {
		return fmt.Errorf("%w: ServiceAddress %q is not network@address (e.g. tcp@127.0.0.1:8972)", ErrRegistryConfig, addr)
	}
	return nil
}

// registryDir returns the key of a service's directory, "base/service",
// without leading or trailing slashes (the layout of rpcx's libkv stores,
// so rpcx servers and courier clients can share a registry).
func registryDir(basePath, servicePath string) string {
	base := strings.Trim(basePath, "/")
	if base == "" {
		return servicePath
	}
	return base + "/" + servicePath
}

// registryTTL returns expired, or DefaultRegistryTTL when it is not positive.
func registryTTL(expired time.Duration) time.Duration {
	if expired <= 0 {
		return DefaultRegistryTTL
	}
	if expired < time.Second {
		return time.Second
	}
	return expired
}
