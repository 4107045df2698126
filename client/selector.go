package client

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// Selector chooses the server of each call. Select returns a server key
// ("network@address") or "" when it has none; UpdateServer gives it the
// current servers (key to URL-encoded metadata) whenever they change,
// already filtered by group and state. An XClient calls Select from many
// goroutines at once and UpdateServer concurrently with Select, so
// implementations must be safe for concurrent use.
type Selector interface {
	Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string
	UpdateServer(servers map[string]string)
}

// newSelector returns the built-in selector of mode (nil for SelectByUser
// and unknown modes: the user supplies one with SetSelector).
func newSelector(mode SelectMode, servers map[string]string) Selector {
	var s Selector
	switch mode {
	case RandomSelect:
		s = &randomSelector{}
	case RoundRobin:
		s = &roundRobinSelector{}
	case WeightedRoundRobin:
		s = newWeightedRoundRobinSelector()
	case WeightedICMP:
		s = newWeightedICMPSelector()
	case ConsistentHash:
		s = newConsistentHashSelector()
	case Closest:
		s = newGeoSelector(0, 0)
	case P2CPeakEWMA:
		s = NewP2CSelector(0)
	default:
		return nil
	}
	s.UpdateServer(servers)
	return s
}

// sortedKeys returns the keys of servers in ascending order.
func sortedKeys(servers map[string]string) []string {
	keys := make([]string, 0, len(servers))
	for k := range servers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// randomSelector picks a server uniformly at random.
type randomSelector struct {
	keys atomic.Pointer[[]string]
}

func (s *randomSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	p := s.keys.Load()
	if p == nil || len(*p) == 0 {
		return ""
	}
	return (*p)[rand.IntN(len(*p))]
}

func (s *randomSelector) UpdateServer(servers map[string]string) {
	keys := sortedKeys(servers)
	s.keys.Store(&keys)
}

// roundRobinSelector picks servers in turn (in key order).
type roundRobinSelector struct {
	keys atomic.Pointer[[]string]
	next atomic.Uint64
}

func (s *roundRobinSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	p := s.keys.Load()
	if p == nil || len(*p) == 0 {
		return ""
	}
	i := s.next.Add(1) - 1
	return (*p)[i%uint64(len(*p))]
}

func (s *roundRobinSelector) UpdateServer(servers map[string]string) {
	keys := sortedKeys(servers)
	s.keys.Store(&keys)
}
