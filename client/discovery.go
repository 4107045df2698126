package client

import "reflect"

// KVPair is one server offered by a discovery: Key is "network@address"
// (e.g. "tcp@127.0.0.1:8972") and Value is its URL-encoded metadata
// (e.g. "weight=10&group=test").
type KVPair struct {
	Key   string
	Value string
}

// ServiceDiscoveryFilter decides whether a discovered server is kept.
type ServiceDiscoveryFilter func(kvp *KVPair) bool

// ServiceDiscovery finds the servers of a service and reports changes.
//
// GetServices returns the current list. WatchService returns a channel on
// which every later list is sent (the channel is buffered; a watcher that
// does not keep up misses intermediate lists, never the latest; the
// registry discoveries send at most one list per 50 ms, the first change at
// once); give it back with RemoveWatcher. Clone returns a discovery of another service
// path sharing the same registry configuration. SetFilter installs a filter
// applied to every list. Close stops watching and releases resources.
// Implementations are safe for concurrent use.
type ServiceDiscovery interface {
	GetServices() []*KVPair
	WatchService() chan []*KVPair
	RemoveWatcher(ch chan []*KVPair)
	Clone(servicePath string) (ServiceDiscovery, error)
	SetFilter(ServiceDiscoveryFilter)
	Close()
}

// isNilDiscovery reports whether d is nil or an interface holding a nil
// pointer (say a program's own discovery type left unset), which would
// panic on first use.
func isNilDiscovery(d ServiceDiscovery) bool {
	if d == nil {
		return true
	}
	v := reflect.ValueOf(d)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
