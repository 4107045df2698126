package registryadmin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Kinds of registry a Target names.
const (
	KindEtcd      = "etcd"
	KindZooKeeper = "zookeeper"
	KindConsul    = "consul"
)

// Sentinel errors of the package; returned errors wrap them.
var (
	// ErrBadURL reports a registry URL that cannot be used.
	ErrBadURL = errors.New("registryadmin: bad registry URL")
	// ErrUnavailable reports a registry that did not answer in time.
	ErrUnavailable = errors.New("registryadmin: registry unavailable")
	// ErrNotFound reports a service or server that is not registered.
	ErrNotFound = errors.New("registryadmin: not registered")
	// ErrConflict reports an entry that kept changing under a write.
	ErrConflict = errors.New("registryadmin: entry changed concurrently")
	// ErrBadMetadata reports a metadata edit that is not valid.
	ErrBadMetadata = errors.New("registryadmin: bad metadata")
)

// Target is a parsed registry URL: the engine, its addresses (host:port)
// and the base path under which services are registered, without leading
// or trailing slashes.
type Target struct {
	Kind     string
	Addrs    []string
	BasePath string
}

// String renders the target back as a URL.
func (t Target) String() string {
	return t.Kind + "://" + strings.Join(t.Addrs, ",") + "/" + t.BasePath
}

// ParseURL parses a registry URL: "etcd://host:port[,host:port...]/basePath",
// "zookeeper://host:port[,...]/basePath" (also "zk://") or
// "consul://host:port/basePath" (one agent). The base path may be empty ("etcd://h:p")
// and may have several segments. Errors wrap ErrBadURL and say what is
// wrong: unknown scheme, no address, an address without a port.
func ParseURL(s string) (Target, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(s), "://")
	if !ok {
		return Target{}, fmt.Errorf("%w: %q has no scheme (want etcd://, zookeeper:// or consul://)", ErrBadURL, s)
	}
	var t Target
	switch strings.ToLower(scheme) {
	case "etcd", "etcdv3":
		t.Kind = KindEtcd
	case "zookeeper", "zk":
		t.Kind = KindZooKeeper
	case "consul":
		t.Kind = KindConsul
	default:
		return Target{}, fmt.Errorf("%w: unknown scheme %q (want etcd, zookeeper or consul)", ErrBadURL, scheme)
	}
	hosts, path, _ := strings.Cut(rest, "/")
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	p, err := url.PathUnescape(path)
	if err != nil {
		return Target{}, fmt.Errorf("%w: base path %q: %v", ErrBadURL, path, err)
	}
	t.BasePath = strings.Trim(p, "/")
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return Target{}, fmt.Errorf("%w: address %q is not host:port", ErrBadURL, h)
		}
		t.Addrs = append(t.Addrs, h)
	}
	if len(t.Addrs) == 0 {
		return Target{}, fmt.Errorf("%w: %q names no host:port", ErrBadURL, s)
	}
	if t.Kind == KindConsul && len(t.Addrs) > 1 {
		return Target{}, fmt.Errorf("%w: consul takes one agent address, got %d", ErrBadURL, len(t.Addrs))
	}
	return t, nil
}
