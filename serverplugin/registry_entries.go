package serverplugin

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metrics "github.com/rcrowley/go-metrics"
)

// entrySet is the desired content of a registrar (service name -> metadata
// as registered) and what the registrar last published of each service.
// It is safe for concurrent use.
//
// It also answers the plugin's readiness: the plugin is ready once every
// registered service has been published at least once since it was
// registered. A later registry outage does not make it unready (the
// discoveries keep their last list, and taking every server out of
// rotation because the registry is down would only add an outage), but a
// service registered later does until it is published. notify, when set,
// is called (without any lock held) whenever that answer changes.
type entrySet struct {
	mu      sync.Mutex
	desired map[string]string
	last    map[string]lastWrite // service -> last published value, since registered
	notify  func()
}

// lastWrite is a service's value as the registrar last wrote it: own is
// the plugin's part (its metadata and tps), full what was stored (own
// merged into the keys others had written).
type lastWrite struct{ own, full string }

func (s *entrySet) set(name, metadata string) error {
	if name == "" {
		return fmt.Errorf("%w: empty service name", ErrRegistryConfig)
	}
	s.mu.Lock()
	was := s.publishedLocked()
	if s.desired == nil {
		s.desired = make(map[string]string)
	}
	s.desired[name] = metadata
	s.unlockNotify(was)
	return nil
}

func (s *entrySet) replace(name, metadata string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return replaceRegistered(s.desired, name, metadata)
}

// replaceRegistered sets m[name] to metadata if name is in m, and answers
// errNotRegistered otherwise.
func replaceRegistered(m map[string]string, name, metadata string) error {
	if _, ok := m[name]; !ok {
		return errNotRegistered(name)
	}
	m[name] = metadata
	return nil
}

func (s *entrySet) remove(name string) {
	s.mu.Lock()
	was := s.publishedLocked()
	delete(s.desired, name)
	delete(s.last, name)
	s.unlockNotify(was)
}

// prior returns what was last published for name since it was registered.
func (s *entrySet) prior(name string) (lastWrite, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.last[name]
	return w, ok
}

// wrote records that name's entry now holds full, of which own is the
// plugin's part. A service no longer registered is ignored.
func (s *entrySet) wrote(name, own, full string) {
	s.mu.Lock()
	was := s.publishedLocked()
	if _, ok := s.desired[name]; ok {
		if s.last == nil {
			s.last = make(map[string]lastWrite)
		}
		s.last[name] = lastWrite{own: own, full: full}
	}
	s.unlockNotify(was)
}

// published reports whether every registered service was published.
func (s *entrySet) published() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishedLocked()
}

func (s *entrySet) publishedLocked() bool {
	for name := range s.desired {
		if _, ok := s.last[name]; !ok {
			return false
		}
	}
	return true
}

// watch sets the function called when published's answer changes.
func (s *entrySet) watch(notify func()) {
	s.mu.Lock()
	s.notify = notify
	s.mu.Unlock()
}

// unlockNotify releases s.mu and calls notify if published's answer is no
// longer was.
func (s *entrySet) unlockNotify(was bool) {
	now := s.publishedLocked()
	notify := s.notify
	s.mu.Unlock()
	if now != was && notify != nil {
		notify()
	}
}

// snapshot returns the plugin's part of every service's value: its
// metadata, plus "tps=N" (the one-minute rate of the "calls" meter) when
// reg is set and updateInterval is positive.
func (s *entrySet) snapshot(reg metrics.Registry, updateInterval time.Duration) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.desired))
	for name, md := range s.desired {
		out[name] = withTPS(md, reg, updateInterval)
	}
	return out
}

// withTPS appends "tps=N" to metadata when metrics are kept.
func withTPS(metadata string, reg metrics.Registry, updateInterval time.Duration) string {
	if reg == nil || updateInterval <= 0 {
		return metadata
	}
	tps := strconv.FormatInt(int64(metrics.GetOrRegisterMeter("calls", reg).Rate1()), 10)
	if metadata == "" {
		return "tps=" + tps
	}
	return metadata + "&tps=" + tps
}

// writePlan returns the services whose value differs from what was written
// in the current session (puts) and those written but no longer wanted
// (dels).
func writePlan(vals, written map[string]string) (puts, dels []string) {
	for name, v := range vals {
		if w, ok := written[name]; !ok || w != v {
			puts = append(puts, name)
		}
	}
	for name := range written {
		if _, ok := vals[name]; !ok {
			dels = append(dels, name)
		}
	}
	return puts, dels
}

// mergedValue returns the value to store for a service whose plugin part
// is now own, given the stored value (ok false: there is none, e.g. after
// the lease or session expired) and what the registrar last wrote. A
// service never published since it was registered gets own as is (rpcx's
// Register, which overwrites); otherwise own is merged into the stored
// value, so that edits made by others (the dashboard, registryadmin) stay.
func (s *entrySet) mergedValue(name, own, stored string, ok bool) string {
	prev, had := s.prior(name)
	if !had {
		return own
	}
	if !ok {
		stored = prev.full
	}
	return mergeMetadata(stored, prev.own, own)
}

// mergeMetadata merges the plugin's new metadata own into stored, the value
// in the registry, where prevOwn is the plugin's metadata it last wrote.
// A key of own whose value changed since prevOwn (tps, or an UpdateMetadata)
// takes the new value; a key of own that did not change keeps the stored
// value (an edit by someone else), or stays absent if someone removed it; a
// key the plugin wrote before and no longer sets is removed; every other
// stored key (state, weight, group, tags set by an operator) is kept. The
// plugin's keys come first in own's order, then the others in stored's.
func mergeMetadata(stored, prevOwn, own string) string {
	st, stOrder := metadataPairs(stored)
	prev, _ := metadataPairs(prevOwn)
	cur, curOrder := metadataPairs(own)
	var out []string
	for _, k := range curOrder {
		p, had := prev[k]
		switch {
		case !had || !slices.Equal(p, cur[k]):
			out = append(out, cur[k]...)
		default:
			out = append(out, st[k]...)
		}
	}
	for _, k := range stOrder {
		_, mine := cur[k]
		_, wasMine := prev[k]
		if !mine && !wasMine {
			out = append(out, st[k]...)
		}
	}
	return strings.Join(out, "&")
}

// metadataPairs splits URL-encoded metadata into its "k=v" pairs grouped
// by (unescaped) key, and the keys in order of first appearance. Pairs are
// kept as written, so a value is never re-encoded.
func metadataPairs(md string) (map[string][]string, []string) {
	pairs := make(map[string][]string)
	var order []string
	for _, p := range strings.Split(md, "&") {
		if p == "" {
			continue
		}
		k, _, _ := strings.Cut(p, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if _, ok := pairs[k]; !ok {
			order = append(order, k)
		}
		pairs[k] = append(pairs[k], p)
	}
	return pairs, order
}
