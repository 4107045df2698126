package client

import "sync"

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

// staticDiscovery is the shared body of discoveries whose list changes only
// when the program says so.
type staticDiscovery struct {
	mu     sync.RWMutex
	pairs  []*KVPair
	filter ServiceDiscoveryFilter
	w      watchers
}

func (d *staticDiscovery) get() []*KVPair {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return filterPairs(d.pairs, d.filter)
}

func (d *staticDiscovery) set(pairs []*KVPair) {
	d.mu.Lock()
	d.pairs = filterPairs(pairs, nil)
	list := filterPairs(d.pairs, d.filter)
	d.mu.Unlock()
	d.w.notify(list)
}

func (d *staticDiscovery) setFilter(f ServiceDiscoveryFilter) {
	d.mu.Lock()
	d.filter = f
	d.mu.Unlock()
}
