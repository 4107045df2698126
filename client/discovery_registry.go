package client

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounds of the registry discoveries' retry backoff (ZooKeeper, Consul)
// after a failed read or watch.
const (
	registryRetryMin = 100 * time.Millisecond
	registryRetryMax = 5 * time.Second
)

// nextBackoff doubles d within [registryRetryMin, registryRetryMax].
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, registryRetryMin), registryRetryMax)
}

// stateInactive reports metadata with state=inactive (rpcx's way to take a
// server out of rotation without deregistering it).
func stateInactive(metadata string) bool {
	if !strings.Contains(metadata, "inactive") {
		return false
	}
	v, err := url.ParseQuery(metadata)
	return err == nil && v.Get("state") == "inactive"
}

// registryList is the shared state of the registry discoveries: the
// servers as read from the registry (key "network@address" -> metadata),
// the active list derived from them, the filter and the watchers. It is
// safe for concurrent use.
type registryList struct {
	mu     sync.RWMutex
	pairs  []*KVPair // active servers, sorted by key
	filter ServiceDiscoveryFilter
	w      watchers
}

// set replaces the servers with kvs, dropping inactive ones, and notifies
// the watchers when the active list changed.
func (l *registryList) set(kvs map[string]string) {
	pairs := make([]*KVPair, 0, len(kvs))
	for k, v := range kvs {
		if k == "" || stateInactive(v) {
			continue
		}
		pairs = append(pairs, &KVPair{Key: k, Value: v})
	}
	slices.SortFunc(pairs, func(a, b *KVPair) int { return strings.Compare(a.Key, b.Key) })
	l.mu.Lock()
	changed := !slices.EqualFunc(pairs, l.pairs, func(a, b *KVPair) bool { return *a == *b })
	l.pairs = pairs
	list := filterPairs(pairs, l.filter)
	l.mu.Unlock()
	if changed {
		l.w.notify(list)
	}
}

// get returns the active servers after the filter, as copies.
func (l *registryList) get() []*KVPair {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return filterPairs(l.pairs, l.filter)
}

func (l *registryList) setFilter(f ServiceDiscoveryFilter) {
	l.mu.Lock()
	l.filter = f
	l.mu.Unlock()
}

// sleepCtx waits d or until done is closed; it reports whether d passed.
func sleepCtx(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
