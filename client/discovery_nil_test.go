package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/share"
)

// TestNilDiscoveryClients: an XClient or OneClient given a nil discovery,
// or an interface holding a nil pointer, fails every call with a clear
// error instead of panicking (rpcx programs write `d, _ := New...`).
func TestNilDiscoveryClients(t *testing.T) {
	var typedNil *MultipleServersDiscovery
	cases := map[string]ServiceDiscovery{"nil": nil, "typed nil": typedNil}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			x := NewXClient("Arith", Failover, RoundRobin, d, DefaultOption)
			var reply int
			err := x.Call(t.Context(), "Mul", 1, &reply)
			if !errors.Is(err, ErrXClientNoServer) || !strings.Contains(err.Error(), "nil discovery") {
				t.Fatalf("XClient.Call: %v, want ErrXClientNoServer naming the nil discovery", err)
			}
			if err := x.Broadcast(t.Context(), "Mul", 1, &reply); !errors.Is(err, ErrXClientNoServer) {
				t.Fatalf("XClient.Broadcast: %v, want ErrXClientNoServer", err)
			}
			if err := x.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			oc := NewOneClient(Failover, RoundRobin, d, DefaultOption)
			defer oc.Close()
			if err := oc.Call(t.Context(), "Arith", "Mul", 1, &reply); !errors.Is(err, ErrXClientNoServer) {
				t.Fatalf("OneClient.Call: %v, want ErrXClientNoServer", err)
			}
		})
	}
}

// fakeCloneDiscovery clones into a discovery that reports err with itself.
type fakeCloneDiscovery struct {
	MultipleServersDiscovery
	err    error
	clones []*fakeCloneDiscovery
	closed bool
}

func (f *fakeCloneDiscovery) Clone(string) (ServiceDiscovery, error) {
	c := &fakeCloneDiscovery{}
	f.clones = append(f.clones, c)
	return c, f.err
}

func (f *fakeCloneDiscovery) Close() { f.closed = true; f.MultipleServersDiscovery.Close() }

// TestOneClientCloneErrors: a clone that reports its registry unreachable or
// its service not registered yet is kept (it keeps watching, so the service
// works once a server registers); any other error fails the call and the
// clone is closed.
func TestOneClientCloneErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kept bool
	}{
		{share.ErrRegistryKeyNotFound, true},
		{share.ErrRegistryUnavailable, true},
		{ErrBadDiscovery, false},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			d := &fakeCloneDiscovery{err: tc.err}
			oc := NewOneClient(Failover, RoundRobin, d, DefaultOption)
			var reply int
			err := oc.Call(t.Context(), "Arith", "Mul", 1, &reply)
			if !errors.Is(err, ErrXClientNoServer) && !errors.Is(err, tc.err) {
				t.Fatalf("Call: %v", err)
			}
			if errors.Is(err, tc.err) == tc.kept {
				t.Fatalf("Call: %v; clone kept = %v", err, tc.kept)
			}
			oc.Close()
			if len(d.clones) == 0 || !d.clones[0].closed {
				t.Fatalf("clone not closed (clones %d)", len(d.clones))
			}
		})
	}
}
