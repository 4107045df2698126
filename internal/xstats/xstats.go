// Package xstats keeps the XClients whose Stats() a metrics plugin
// exports (clientplugin/prometheus, clientplugin/otel) and sums their
// counters per service path when a reader collects.
package xstats

import (
	"sync"

	"github.com/courier-rpc/courier/client"
)

// Getter reads one counter of an XClientStats.
type Getter func(*client.XClientStats) uint64

// Set is a set of XClients, each with its service path. The zero value is
// empty and ready; a Set is safe for concurrent use.
type Set struct {
	mu sync.Mutex
	xs []entry
}

type entry struct {
	x       client.XClient
	service string
}

// Add records x and returns its service path (from client.Introspector;
// "" for other XClient implementations) and whether x is new to s.
func (s *Set) Add(x client.XClient) (service string, added bool) {
	if in, ok := x.(client.Introspector); ok {
		service = in.Introspect().ServicePath
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.xs {
		if e.x == x {
			return e.service, false
		}
	}
	s.xs = append(s.xs, entry{x: x, service: service})
	return service, true
}

// Sums reads every XClient's Stats() once and returns the service paths
// in the order they were first added and, for each, the sum over its
// XClients of every getter (sums[i][j] is services[i]'s total of get[j]).
func (s *Set) Sums(get []Getter) (services []string, sums [][]uint64) {
	s.mu.Lock()
	xs := append([]entry(nil), s.xs...)
	s.mu.Unlock()
	index := make(map[string]int, 1)
	for _, e := range xs {
		i, ok := index[e.service]
		if !ok {
			i = len(services)
			index[e.service] = i
			services = append(services, e.service)
			sums = append(sums, make([]uint64, len(get)))
		}
		st := e.x.Stats()
		for j, g := range get {
			sums[i][j] += g(&st)
		}
	}
	return services, sums
}
