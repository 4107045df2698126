package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// registryNotifyGap is the least time between two lists a registry
// discovery sends its watchers: the first change goes out at once, later
// ones within the gap together at its end. A burst of N registrations thus
// costs the discovery (building the sorted list) and each watcher (an
// XClient rebuilding its selection from the whole list) at most one list
// per gap instead of N lists of up to N servers.
const registryNotifyGap = 50 * time.Millisecond

// setRegistry replaces the registry's entries with kvs (key
// "network@address" -> metadata; the list keeps the map) and schedules
// sending the list.
func (l *serverList) setRegistry(kvs map[string]string) {
	l.mu.Lock()
	l.kvs, l.dirty = kvs, true
	now := l.scheduleLocked()
	l.mu.Unlock()
	if now {
		l.sendLatest()
	}
}

// updateRegistry applies fn to the registry's entries (an incremental
// change, such as etcd's watch events) and schedules sending the list.
func (l *serverList) updateRegistry(fn func(kvs map[string]string)) {
	l.mu.Lock()
	if l.kvs == nil {
		l.kvs = make(map[string]string)
	}
	fn(l.kvs)
	l.dirty = true
	now := l.scheduleLocked()
	l.mu.Unlock()
	if now {
		l.sendLatest()
	}
}

// scheduleLocked reports whether the list is to be sent now; otherwise a
// send is (or already was) scheduled for the end of the gap. l.mu is held.
func (l *serverList) scheduleLocked() bool {
	if l.pending != nil {
		return false // the pending send takes the latest list
	}
	if wait := registryNotifyGap - time.Since(l.last); wait > 0 {
		l.pending = time.AfterFunc(wait, l.sendLatest)
		return false
	}
	return true
}

// buildLocked rebuilds pairs from kvs when they changed: active servers
// (state=inactive dropped), sorted by key. l.mu is held.
func (l *serverList) buildLocked() {
	if !l.dirty {
		return
	}
	l.dirty = false
	pairs := make([]*KVPair, 0, len(l.kvs))
	for k, v := range l.kvs {
		if k == "" || stateInactive(v) {
			continue
		}
		pairs = append(pairs, &KVPair{Key: k, Value: v})
	}
	slices.SortFunc(pairs, func(a, b *KVPair) int { return strings.Compare(a.Key, b.Key) })
	if !slices.EqualFunc(pairs, l.pairs, func(a, b *KVPair) bool { return *a == *b }) {
		l.pairs, l.unsent = pairs, true
	}
}

// sendLatest sends the current list (after the filter) to the watchers
// when it changed since the last send.
func (l *serverList) sendLatest() {
	l.notifyMu.Lock()
	defer l.notifyMu.Unlock()
	l.mu.Lock()
	l.pending = nil
	l.buildLocked()
	if !l.unsent {
		l.mu.Unlock()
		return
	}
	l.unsent, l.last, l.sent = false, time.Now(), l.pairs
	list := filterPairs(l.pairs, l.filter)
	l.mu.Unlock()
	l.w.notify(list)
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

// registrySource is what the etcd, ZooKeeper and Consul discoveries share:
// their arguments and their background loop's context, end and Close.
// They embed it and call init first.
type registrySource struct {
	basePath    string
	servicePath string                 // without slashes; "" for a template
	addrs       []string               // without blank entries
	options     *share.RegistryOptions // nil: defaults
	template    bool
	dir         string // "base/service" without slashes (the keys' parent)

	ctx    context.Context // nil until begin
	cancel context.CancelFunc
	done   chan struct{} // closed by the loop when it returns (at once when none runs)
	once   sync.Once
}

// init records the arguments. A template, or bad arguments (an empty
// servicePath for a discovery, no address: an error wrapping
// ErrBadDiscovery naming kind), leave the source done, with no loop to
// start.
func (s *registrySource) init(kind, basePath, servicePath string, addrs []string, o *share.RegistryOptions, template bool) (ok bool, err error) {
	s.basePath, s.options, s.template = basePath, o, template
	s.servicePath = strings.Trim(servicePath, "/")
	s.addrs = slices.DeleteFunc(slices.Clone(addrs), func(a string) bool { return strings.TrimSpace(a) == "" })
	s.done = make(chan struct{})
	switch {
	case !template && s.servicePath == "":
		err = fmt.Errorf("%w: empty service path", ErrBadDiscovery)
	case len(s.addrs) == 0:
		err = fmt.Errorf("%w: no %s address", ErrBadDiscovery, kind)
	case template:
	default:
		s.dir = s.servicePath
		if base := strings.Trim(basePath, "/"); base != "" {
			s.dir = base + "/" + s.servicePath
		}
		return true, nil
	}
	close(s.done)
	return false, err
}

// fail ends a source whose loop will not start, with err.
func (s *registrySource) fail(err error) error {
	close(s.done)
	return err
}

// begin creates the context the loop runs under.
func (s *registrySource) begin() {
	s.ctx, s.cancel = context.WithCancel(context.Background())
}

// close stops the loop and waits for it, then runs release (closing the
// registry connection) and closeWatchers, once.
func (s *registrySource) close(release, closeWatchers func()) {
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		<-s.done
		release()
		closeWatchers()
	})
}
