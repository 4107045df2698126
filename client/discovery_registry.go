package client

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/courier-rpc/courier/share"
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

// setRegistry replaces the servers with the registry's entries kvs (key
// "network@address" -> metadata), dropping inactive ones and sorting by
// key, and notifies the watchers only when the active list changed.
func (l *serverList) setRegistry(kvs map[string]string) {
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

// discoveryKeepsWatching reports whether a discovery returned with err
// still works: its registry did not answer yet or had no entry yet, and it
// keeps trying and watching (the registry discoveries' contract).
func discoveryKeepsWatching(err error) bool {
	return errors.Is(err, share.ErrRegistryUnavailable) || errors.Is(err, share.ErrRegistryKeyNotFound)
}
