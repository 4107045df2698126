package server

import (
	"sync"
	"time"
)

// tickedList is a list of items that one goroutine looks at on every tick
// of a ticker; the goroutine runs only while the list is not empty. The
// watchdog (connections with handlers running on their reader) and the
// sweeper (idle readers) are built on it. Its mutex guards items and
// running.
type tickedList[T any] struct {
	mu      sync.Mutex
	items   []T
	running bool // the goroutine runs
}

// add puts it on the list and starts run (which calls loop) in a new
// goroutine when none runs.
func (l *tickedList[T]) add(it T, run func()) {
	l.mu.Lock()
	l.items = append(l.items, it)
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if start {
		go run()
	}
}

// loop ticks every period while the list has items: at each tick it calls
// tick (when not nil), then look on every item, outside the lock, keeping
// the items look returns true for (items added meanwhile stay too). It
// returns once the list is empty.
func (l *tickedList[T]) loop(period time.Duration, tick func(), look func(*T) bool) {
	t := time.NewTicker(period)
	defer t.Stop()
	var items, keep []T
	var zero T
	for range t.C {
		if tick != nil {
			tick()
		}
		l.mu.Lock()
		items, l.items = l.items, items[:0]
		l.mu.Unlock()
		keep = keep[:0]
		for i := range items {
			if look(&items[i]) {
				keep = append(keep, items[i])
			}
			items[i] = zero // no reference kept to a dropped item
		}
		l.mu.Lock()
		l.items = append(l.items, keep...)
		if len(l.items) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}
