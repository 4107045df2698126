package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/health"
)

// TestIntrospect checks an XClient's snapshot: connection states, calls in
// flight, health, breaker states and the breaker-open counter.
func TestIntrospect(t *testing.T) {
	a, b := startHealthServer(t, true), startHealthServer(t, true)
	opt := healthOption()
	opt.Retries = 0
	opt.GenBreaker = func() client.Breaker { return client.NewConsecCircuitBreaker(2, time.Minute) }
	x := client.NewXClient("Svc", client.Failfast, client.RoundRobin, discoveryOf(t, []*healthServer{a, b}), opt)
	t.Cleanup(func() { x.Close() })
	in, ok := x.(client.Introspector)
	if !ok {
		t.Fatal("the XClient of NewXClient is not an Introspector")
	}
	byKey := func() map[string]client.ServerState {
		m := map[string]client.ServerState{}
		for _, s := range in.Introspect().Servers {
			m[s.Key] = s
		}
		return m
	}
	b.h.SetServingStatus("Svc", health.NotServing)
	waitFor(t, "both connected and b NOT_SERVING", func() bool {
		m := byKey()
		return m[a.key].Conn == "connected" && m[b.key].Conn == "connected" && m[b.key].Health != nil && m[b.key].Health.Status == health.NotServing
	})
	st := in.Introspect()
	if st.ServicePath != "Svc" || st.FailMode != "Failfast" || st.SelectMode != "RoundRobin" || !st.HealthCheck || len(st.Servers) != 2 {
		t.Fatalf("snapshot %+v", st)
	}
	m := byKey()
	if !m[a.key].Selectable || m[b.key].Selectable || m[a.key].Breaker != "closed" || m[a.key].Ejected {
		t.Fatalf("servers %+v", m)
	}

	// A call parked on a: one more in flight than a's Watch.
	before := byKey()[a.key].InFlight
	call, err := x.Go(t.Context(), "Wait", &HitArgs{}, &HitReply{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the parked call in flight", func() bool { return byKey()[a.key].InFlight == before+1 })
	close(a.svc.release)
	if <-call.Done; call.Error != nil {
		t.Fatal(call.Error)
	}

	// a goes away: two failed attempts open its breaker, counted once.
	// Calls made while a waits out its reconnect backoff (the health
	// checker's failed redial can start one) are refused before they
	// reach the breaker, so keep calling until the breaker answers.
	a.s.Close()
	waitFor(t, "a's breaker to open", func() bool {
		err := x.Call(t.Context(), "Hit", &HitArgs{}, &HitReply{})
		if err == nil {
			t.Fatal("a call succeeded with its only server closed")
		}
		return errors.Is(err, client.ErrBreakerOpen)
	})
	if got := x.Stats().BreakerOpens; got != 1 {
		t.Fatalf("BreakerOpens = %d, want 1", got)
	}
	if s := byKey()[a.key]; s.Breaker != "open" {
		t.Fatalf("a after its breaker opened: %+v", s)
	}
}
