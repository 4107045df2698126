package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/health"
	"github.com/courier-rpc/courier/server"
)

// hitService counts the calls its server got.
type hitService struct {
	hits    atomic.Int64
	release chan struct{}
}

type HitArgs struct{ N int }
type HitReply struct{ N int }

func (h *hitService) Hit(_ context.Context, a *HitArgs, r *HitReply) error {
	h.hits.Add(1)
	r.N = a.N
	return nil
}

// healthServer is one TCP server of the health tests.
type healthServer struct {
	s      *server.Server
	h      *health.Service // nil: no Health service
	svc    *hitService
	key    string
	served chan error
}

func startHealthServer(t *testing.T, withHealth bool, opts ...server.OptionFn) *healthServer {
	t.Helper()
	hs := &healthServer{s: server.NewServer(opts...), svc: &hitService{release: make(chan struct{})}, served: make(chan error, 1)}
	if err := hs.s.RegisterName("Svc", hs.svc, ""); err != nil {
		t.Fatal(err)
	}
	if withHealth {
		h, err := health.Register(hs.s)
		if err != nil {
			t.Fatal(err)
		}
		hs.h = h
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs.key = "tcp@" + ln.Addr().String()
	go func() { hs.served <- hs.s.ServeListener("tcp", ln) }()
	<-hs.s.Started
	t.Cleanup(func() {
		hs.s.Close()
		if err := <-hs.served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve %s: %v", hs.key, err)
		}
	})
	return hs
}

func healthOption() client.Option {
	opt := client.DefaultOption
	opt.HealthCheck = client.HealthCheckConfig{Enabled: true, Interval: 20 * time.Millisecond}
	opt.Outlier.Disabled = true // only health may take servers out here
	return opt
}

// waitFor polls cond every 5 ms until it holds or 10 s passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hitsOf makes n calls in mode and returns how many each server got.
func hitsOf(t *testing.T, servers []*healthServer, n int, call func() error) []int64 {
	t.Helper()
	before := make([]int64, len(servers))
	for i, s := range servers {
		before[i] = s.svc.hits.Load()
	}
	for i := 0; i < n; i++ {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	out := make([]int64, len(servers))
	for i, s := range servers {
		out[i] = s.svc.hits.Load() - before[i]
	}
	return out
}

func discoveryOf(t *testing.T, servers []*healthServer) client.ServiceDiscovery {
	t.Helper()
	var pairs []*client.KVPair
	for _, s := range servers {
		pairs = append(pairs, &client.KVPair{Key: s.key})
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestHealthCheckSelection flips a server's health with SetServingStatus
// and checks that every selector and fail mode, Broadcast and Fork avoid
// it while it is NOT_SERVING and use it again once it is SERVING; a
// server without a Health service stays selectable throughout.
func TestHealthCheckSelection(t *testing.T) {
	servers := []*healthServer{startHealthServer(t, true), startHealthServer(t, true), startHealthServer(t, false)}
	d := discoveryOf(t, servers)
	type xc struct {
		name string
		x    client.XClient
	}
	var xcs []xc
	for _, sm := range []client.SelectMode{client.RandomSelect, client.RoundRobin, client.WeightedRoundRobin, client.ConsistentHash, client.P2CPeakEWMA} {
		for _, fm := range []client.FailMode{client.Failfast, client.Failover, client.Failtry, client.Failbackup} {
			x := client.NewXClient("Svc", fm, sm, d, healthOption())
			t.Cleanup(func() { x.Close() })
			xcs = append(xcs, xc{fmt.Sprintf("%v/%v", sm, fm), x})
		}
	}
	sick := servers[0]
	sick.h.SetServingStatus("Svc", health.NotServing)
	for _, c := range xcs {
		waitFor(t, c.name+" to drop the NOT_SERVING server", func() bool { return c.x.Stats().NotServing == 1 })
	}
	for i, c := range xcs {
		got := hitsOf(t, servers, 30, func() error {
			return c.x.Call(t.Context(), "Hit", &HitArgs{N: i}, &HitReply{})
		})
		if got[0] != 0 {
			t.Fatalf("%s: the NOT_SERVING server got %d of 30 calls (%v)", c.name, got[0], got)
		}
	}
	x := xcs[0].x
	if got := hitsOf(t, servers, 5, func() error { return x.Broadcast(t.Context(), "Hit", &HitArgs{}, &HitReply{}) }); got[0] != 0 || got[1] != 5 || got[2] != 5 {
		t.Fatalf("Broadcast hits %v, want [0 5 5]", got)
	}
	if got := hitsOf(t, servers, 5, func() error { return x.Fork(t.Context(), "Hit", &HitArgs{}, &HitReply{}) }); got[0] != 0 {
		t.Fatalf("Fork hits %v: the NOT_SERVING server was asked", got)
	}
	if got := hitsOf(t, servers, 60, func() error { return x.Call(t.Context(), "Hit", &HitArgs{}, &HitReply{}) }); got[2] == 0 {
		t.Fatalf("hits %v: the server without a Health service was not selected", got)
	}

	sick.h.SetServingStatus("Svc", health.Serving)
	for _, c := range xcs {
		before := sick.svc.hits.Load()
		waitFor(t, c.name+" to broadcast to it", func() bool {
			return c.x.Broadcast(t.Context(), "Hit", &HitArgs{}, &HitReply{}) == nil && sick.svc.hits.Load() > before
		})
	}
	if got := hitsOf(t, servers, 60, func() error { return xcs[1].x.Call(t.Context(), "Hit", &HitArgs{}, &HitReply{}) }); got[0] == 0 {
		t.Fatalf("%s: hits %v: the server back to SERVING was not selected", xcs[1].name, got)
	}
}

// TestHealthCheckWholeServer checks the fallback to the whole server's
// status for a service the server does not know, the error when every
// server is NOT_SERVING, and that a server leaves selection as soon as its
// Shutdown starts, while it still serves.
func TestHealthCheckWholeServer(t *testing.T) {
	a := startHealthServer(t, true, server.WithShutdownDelay(3*time.Second))
	b := startHealthServer(t, true)
	d := discoveryOf(t, []*healthServer{a, b})
	opt := healthOption()
	opt.HealthCheck.Service = "NotRegistered" // SERVICE_UNKNOWN: judged by the whole server
	x := client.NewXClient("Svc", client.Failfast, client.RoundRobin, d, opt)
	t.Cleanup(func() { x.Close() })
	ctx := t.Context()

	b.h.SetServingStatus("Svc", health.NotServing) // not the checked service: no effect
	b.h.SetServingStatus("", health.NotServing)
	waitFor(t, "b to leave", func() bool { return x.Stats().NotServing == 1 })
	a.s.SetReady(false)
	waitFor(t, "a to leave", func() bool { return x.Stats().NotServing == 2 })
	err := x.Call(ctx, "Hit", &HitArgs{}, &HitReply{})
	if !errors.Is(err, client.ErrXClientNoServer) {
		t.Fatalf("every server NOT_SERVING: err = %v, want ErrXClientNoServer", err)
	}
	t.Logf("every server NOT_SERVING: %v", err)
	b.h.SetServingStatus("", health.Serving)
	b.h.SetServingStatus("Svc", health.Serving)
	a.s.SetReady(true)
	waitFor(t, "both back", func() bool {
		ha, hb := a.svc.hits.Load(), b.svc.hits.Load()
		return x.Broadcast(ctx, "Hit", &HitArgs{}, &HitReply{}) == nil && a.svc.hits.Load() > ha && b.svc.hits.Load() > hb
	})

	shut := make(chan error, 1)
	go func() { shut <- a.s.Shutdown(context.Background()) }()
	waitFor(t, "a to leave at the start of its Shutdown", func() bool { return x.Stats().NotServing == 3 })
	select {
	case err := <-shut:
		t.Fatalf("Shutdown (3 s propagation delay) returned before the client noticed: %v", err)
	default:
	}
	if got := hitsOf(t, []*healthServer{a, b}, 20, func() error { return x.Call(ctx, "Hit", &HitArgs{}, &HitReply{}) }); got[0] != 0 {
		t.Fatalf("hits %v: the server shutting down was selected", got)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// TestHealthCheckOffByDefault: without Option.HealthCheck a NOT_SERVING
// server is still selected and nothing asks for health.
func TestHealthCheckOffByDefault(t *testing.T) {
	a := startHealthServer(t, true)
	a.h.SetServingStatus("Svc", health.NotServing)
	x := client.NewXClient("Svc", client.Failfast, client.RandomSelect, discoveryOf(t, []*healthServer{a}), client.DefaultOption)
	t.Cleanup(func() { x.Close() })
	if err := x.Call(t.Context(), "Hit", &HitArgs{}, &HitReply{}); err != nil {
		t.Fatal(err)
	}
	if st := x.Stats(); st.NotServing != 0 {
		t.Fatalf("NotServing = %d with health checking off", st.NotServing)
	}
}

// Wait blocks until release is closed (see TestIntrospect).
func (h *hitService) Wait(ctx context.Context, _ *HitArgs, r *HitReply) error {
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return nil
}
