package client

import (
	"context"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"sync"
)

// HashServiceAndArgs maps a call (servicePath, serviceMethod, args) to a
// bucket in [0, len).
type HashServiceAndArgs func(len int, options ...interface{}) int

// ConsistentAddrStrFunction builds the hash key of a call from its options.
type ConsistentAddrStrFunction func(options ...interface{}) string

// JumpConsistentHash hashes options (for a call: servicePath,
// serviceMethod, args) into a bucket in [0, len) with Hash(HashString(key)),
// where key joins the options' fmt.Sprint forms with "/" (pointers are
// followed, so equal arguments hash alike). len <= 0 gives 0.
func JumpConsistentHash(len int, options ...interface{}) int {
	if len <= 0 {
		return 0
	}
	return int(Hash(HashString(hashKey(options...)), int32(len)))
}

// hashKey joins the options' values with "/"; pointers are followed so
// that equal arguments hash alike wherever they live.
func hashKey(options ...interface{}) string {
	var b []byte
	for _, o := range options {
		b = append(b, '/')
		v := reflect.ValueOf(o)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.IsValid() && v.CanInterface() {
			o = v.Interface()
		}
		b = fmt.Append(b, o)
	}
	return string(b)
}

// Hash is Lamping and Veach's jump consistent hash: it maps key to a
// bucket in [0, buckets), and when buckets grows by one only 1/buckets of
// the keys move (all to the new bucket). buckets <= 0 gives 0.
func Hash(key uint64, buckets int32) int32 {
	if buckets <= 0 {
		return 0
	}
	var b, j int64 = -1, 0
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int32(b)
}

// HashString returns the 64-bit FNV-1a hash of s.
func HashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// consistentHashSelector maps each call to a server with jump consistent
// hashing. Its bucket order depends only on the set of servers and on the
// order in which they appeared, never on the order UpdateServer lists them:
// the first list is sorted, later servers are appended (sorted among
// themselves) and departed ones dropped, so adding a server moves only the
// keys that now hash to it.
type consistentHashSelector struct {
	mu      sync.RWMutex
	servers []string
}

func newConsistentHashSelector() *consistentHashSelector { return &consistentHashSelector{} }

func (s *consistentHashSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.servers) == 0 {
		return ""
	}
	return s.servers[JumpConsistentHash(len(s.servers), servicePath, serviceMethod, args)]
}

func (s *consistentHashSelector) UpdateServer(servers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := make([]string, 0, len(servers))
	seen := make(map[string]bool, len(servers))
	for _, k := range s.servers {
		if _, ok := servers[k]; ok {
			kept = append(kept, k)
			seen[k] = true
		}
	}
	var added []string
	for k := range servers {
		if !seen[k] {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	s.servers = append(kept, added...)
}
