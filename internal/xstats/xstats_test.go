package xstats

import (
	"testing"

	"github.com/courier-rpc/courier/client"
)

// fakeX is an XClient that reports fixed stats and a service path.
type fakeX struct {
	client.XClient
	path  string
	stats client.XClientStats
}

func (f *fakeX) Stats() client.XClientStats { return f.stats }

func (f *fakeX) Introspect() client.XClientState {
	return client.XClientState{ServicePath: f.path}
}

// TestSetSumsPerService: XClients of one service path are summed, paths
// keep the order they were first added, and adding one twice counts it
// once.
func TestSetSumsPerService(t *testing.T) {
	var s Set
	a := &fakeX{path: "A", stats: client.XClientStats{Calls: 1, Retries: 10}}
	b := &fakeX{path: "B", stats: client.XClientStats{Calls: 2, Retries: 20}}
	a2 := &fakeX{path: "A", stats: client.XClientStats{Calls: 4, Retries: 40}}
	for _, x := range []*fakeX{a, b, a2} {
		if svc, added := s.Add(x); !added || svc != x.path {
			t.Fatalf("Add(%s) = %q, %v", x.path, svc, added)
		}
	}
	if svc, added := s.Add(a); added || svc != "A" {
		t.Fatalf("second Add(a) = %q, %v; want A, false", svc, added)
	}
	services, sums := s.Sums([]Getter{
		func(st *client.XClientStats) uint64 { return st.Calls },
		func(st *client.XClientStats) uint64 { return st.Retries },
	})
	if len(services) != 2 || services[0] != "A" || services[1] != "B" {
		t.Fatalf("services %v, want [A B]", services)
	}
	if sums[0][0] != 5 || sums[0][1] != 50 || sums[1][0] != 2 || sums[1][1] != 20 {
		t.Fatalf("sums %v, want [[5 50] [2 20]]", sums)
	}
}
