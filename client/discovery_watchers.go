package client

import (
	"sync"
	"time"
)

// watcherBuffer is the capacity of the channels WatchService returns.
const watcherBuffer = 1

// watchers is the set of channels a discovery notifies. notify never
// blocks: a watcher that has not read the previous list gets the latest in
// its place. It is safe for concurrent use.
type watchers struct {
	mu     sync.Mutex
	chs    map[chan []*KVPair]struct{}
	closed bool
}

// add returns a new watcher channel. After close it returns a closed one.
func (w *watchers) add() chan []*KVPair {
	ch := make(chan []*KVPair, watcherBuffer)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		close(ch)
		return ch
	}
	if w.chs == nil {
		w.chs = make(map[chan []*KVPair]struct{})
	}
	w.chs[ch] = struct{}{}
	return ch
}

// remove unregisters ch and closes it; unknown channels are ignored.
func (w *watchers) remove(ch chan []*KVPair) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.chs[ch]; ok {
		delete(w.chs, ch)
		close(ch)
	}
}

// notify sends pairs to every watcher, replacing a list not yet read.
func (w *watchers) notify(pairs []*KVPair) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.chs {
		for {
			select {
			case ch <- pairs:
			default:
				select {
				case <-ch: // drop the stale list
				default:
				}
				continue
			}
			break
		}
	}
}

// close closes every watcher channel; later add calls get closed channels.
func (w *watchers) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	for ch := range w.chs {
		close(ch)
	}
	w.chs = nil
}

// filterPairs returns the pairs filter keeps (all when filter is nil), as
// copies so callers never share KVPair values with the discovery.
func filterPairs(pairs []*KVPair, filter ServiceDiscoveryFilter) []*KVPair {
	out := make([]*KVPair, 0, len(pairs))
	for _, p := range pairs {
		if p == nil {
			continue
		}
		c := *p
		if filter != nil && !filter(&c) {
			continue
		}
		out = append(out, &c)
	}
	return out
}

// serverList is the state every discovery shares: the current servers,
// the program's filter and the watchers. Discoveries embed it, so its
// exported methods are theirs. The zero value is an empty list. It is safe
// for concurrent use.
type serverList struct {
	mu     sync.RWMutex
	pairs  []*KVPair // as published: copies, registries' sorted by key
	filter ServiceDiscoveryFilter
	w      watchers

	// Registry discoveries only (see discovery_registry.go), under mu.
	kvs     map[string]string // the registry's entries: key -> metadata
	dirty   bool              // kvs changed since pairs were built
	unsent  bool              // pairs changed since they were last sent
	sent    []*KVPair         // pairs as last sent
	last    time.Time         // when a list was last sent
	pending *time.Timer       // a send due at the end of the gap

	notifyMu sync.Mutex // serializes sending lists, so they go out in order
}

// GetServices returns the current servers after the filter, as copies.
// While a registry discovery holds back a change (see registryNotifyGap)
// it returns the list its watchers were last sent, so a program that sees a
// server gone from GetServices knows the XClients watching were told.
func (l *serverList) GetServices() []*KVPair {
	l.mu.RLock()
	if l.pending != nil {
		defer l.mu.RUnlock()
		return filterPairs(l.sent, l.filter)
	}
	if !l.dirty {
		defer l.mu.RUnlock()
		return filterPairs(l.pairs, l.filter)
	}
	l.mu.RUnlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buildLocked()
	return filterPairs(l.pairs, l.filter)
}

// WatchService returns a channel that receives the list after each change
// (buffered; latest wins when the reader lags). It is closed by
// RemoveWatcher or Close.
func (l *serverList) WatchService() chan []*KVPair { return l.w.add() }

// RemoveWatcher unregisters and closes ch; unknown channels are ignored.
func (l *serverList) RemoveWatcher(ch chan []*KVPair) { l.w.remove(ch) }

// SetFilter installs a filter applied to GetServices and later updates;
// nil keeps every server.
func (l *serverList) SetFilter(filter ServiceDiscoveryFilter) {
	l.mu.Lock()
	l.filter = filter
	l.mu.Unlock()
}

// replace sets the servers to copies of pairs and notifies the watchers,
// whether or not the list changed.
func (l *serverList) replace(pairs []*KVPair) {
	l.mu.Lock()
	l.pairs = filterPairs(pairs, nil)
	list := filterPairs(l.pairs, l.filter)
	l.mu.Unlock()
	l.w.notify(list)
}

// snapshot returns the servers before the filter (shared: do not modify).
func (l *serverList) snapshot() []*KVPair {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.pairs
}

// closeWatchers closes every watcher channel; later WatchService calls get
// closed channels. The list stays readable.
func (l *serverList) closeWatchers() {
	l.mu.Lock()
	if l.pending != nil {
		l.pending.Stop()
	}
	l.mu.Unlock()
	l.w.close()
}

// closedChan returns a closed channel (the done channel of a discovery
// that runs no goroutine).
func closedChan() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
