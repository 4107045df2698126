// Package pluginset is the plugin list behind the server's and the
// client's plugin containers: the plugins in the order they were added and
// the per-hook lists built from them, kept together as one immutable
// snapshot. Add and Remove build a new snapshot and swap it in, so hooks
// read their lists with one atomic load, without locks or type assertions,
// while plugins may be added or removed concurrently.
package pluginset

import (
	"sync"
	"sync/atomic"
)

// Set holds plugins of type P and the hooks H built from them by H's Build
// method (PH is *H). The zero Set is empty and ready to use; a Set must
// not be copied after first use. Embedded in a plugin container it gives
// the container its Add, Remove and All. All methods are safe for
// concurrent use.
type Set[P comparable, H any, PH interface {
	*H
	Build(all []P)
}] struct {
	mu    sync.Mutex // serializes Add and Remove
	snap  atomic.Pointer[snapshot[P, H]]
	empty H // the hooks before the first Add
}

// snapshot is never changed once stored.
type snapshot[P comparable, H any] struct {
	all   []P
	hooks H
}

// Hooks returns the hooks of the current plugins (empty ones while no
// plugin was ever added). The caller must not change what it points to.
func (s *Set[P, H, PH]) Hooks() *H {
	if sn := s.snap.Load(); sn != nil {
		return &sn.hooks
	}
	return &s.empty
}

// All returns a copy of the plugins, in the order they were added.
func (s *Set[P, H, PH]) All() []P {
	if sn := s.snap.Load(); sn != nil {
		return append([]P(nil), sn.all...)
	}
	return nil
}

// Add appends p and swaps in the hooks built from the new list.
func (s *Set[P, H, PH]) Add(p P) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(append(s.All(), p))
}

// Remove drops every plugin equal (==) to p and swaps in the hooks built
// from the rest.
func (s *Set[P, H, PH]) Remove(p P) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rest []P
	for _, q := range s.All() {
		if q != p {
			rest = append(rest, q)
		}
	}
	s.store(rest)
}

func (s *Set[P, H, PH]) store(all []P) {
	sn := &snapshot[P, H]{all: all}
	PH(&sn.hooks).Build(all)
	s.snap.Store(sn)
}

// Only returns the plugins of all that implement T, in order (nil when
// none does): the list of one hook.
func Only[T any, P any](all []P) []T {
	var out []T
	for _, p := range all {
		if x, ok := any(p).(T); ok {
			out = append(out, x)
		}
	}
	return out
}
