package scale

import (
	"context"
	"sync"
	"time"
)

// keyIndex numbers server keys ("tcp@host:port") in the order they are
// first seen, shared by every recorder of a run so that per-client state is
// preallocated arrays (and client memory is not inflated by the harness).
// It is safe for concurrent use.
type keyIndex struct {
	mu   sync.Mutex
	idx  map[string]int
	keys []string
}

func newKeyIndex(capacity int) *keyIndex {
	return &keyIndex{idx: make(map[string]int, capacity), keys: make([]string, 0, capacity)}
}

// of returns the index of key, numbering it when new; it returns -1 when
// the capacity is exhausted.
func (k *keyIndex) of(key string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if i, ok := k.idx[key]; ok {
		return i
	}
	if len(k.keys) == cap(k.keys) {
		return -1
	}
	k.idx[key] = len(k.keys)
	k.keys = append(k.keys, key)
	return len(k.keys) - 1
}

// lookup returns the index of a known key, or -1.
func (k *keyIndex) lookup(key string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if i, ok := k.idx[key]; ok {
		return i
	}
	return -1
}

// recorder is the selector of one harness XClient: it records, per server,
// when the XClient's selection last came to contain it and when it last
// left it, and selects among the present servers round-robin. Its state is
// preallocated for capacity servers. It is safe for concurrent use.
type recorder struct {
	keys *keyIndex

	mu      sync.Mutex
	present []bool
	seen    []int64 // unix ns of the last appearance, 0 = never
	gone    []int64 // unix ns of the last disappearance, 0 = never
	next    int
	updates int
}

func newRecorder(keys *keyIndex, capacity int) *recorder {
	return &recorder{keys: keys, present: make([]bool, capacity), seen: make([]int64, capacity), gone: make([]int64, capacity)}
}

// UpdateServer records the servers that appeared and left (client.Selector).
func (r *recorder) UpdateServer(servers map[string]string) {
	now := time.Now().UnixNano()
	in := make([]int, 0, len(servers))
	for k := range servers {
		if i := r.keys.of(k); i >= 0 {
			in = append(in, i)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates++
	mark := make([]bool, len(r.present))
	for _, i := range in {
		mark[i] = true
		if !r.present[i] {
			r.seen[i] = now
		}
	}
	for i, was := range r.present {
		if was && !mark[i] {
			r.gone[i] = now
		}
	}
	r.present = mark
}

// Select returns a present server round-robin, or "" (client.Selector).
func (r *recorder) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range r.present {
		r.next = (r.next + 1) % len(r.present)
		if r.present[r.next] {
			r.keys.mu.Lock()
			k := r.keys.keys[r.next]
			r.keys.mu.Unlock()
			return k
		}
	}
	return ""
}

// has reports whether every index in idx is present (want=true) or absent
// (want=false).
func (r *recorder) has(idx []int, want bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range idx {
		if r.present[i] != want {
			return false
		}
	}
	return true
}

// seenAt and goneAt return the recorded times of index i (0 = never).
func (r *recorder) seenAt(i int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[i]
}

func (r *recorder) goneAt(i int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gone[i]
}

func (r *recorder) updateCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updates
}
