package otel_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	clientotel "github.com/courier-rpc/courier/clientplugin/otel"
	"github.com/courier-rpc/courier/health"
	"github.com/courier-rpc/courier/server"
)

// statNames are the counters Instrument exports, with the XClientStats
// field each reads.
var statNames = map[string]func(*client.XClientStats) uint64{
	"courier.client.transparent_retries":    func(s *client.XClientStats) uint64 { return s.TransparentRetries },
	"courier.client.retry_budget.exhausted": func(s *client.XClientStats) uint64 { return s.BudgetExhausted },
	"courier.client.nonidempotent_stops":    func(s *client.XClientStats) uint64 { return s.NonIdempotentStops },
	"courier.client.ejections":              func(s *client.XClientStats) uint64 { return s.Ejections },
	"courier.client.overloaded":             func(s *client.XClientStats) uint64 { return s.Overloaded },
	"courier.client.not_serving":            func(s *client.XClientStats) uint64 { return s.NotServing },
	"courier.client.breaker.opens":          func(s *client.XClientStats) uint64 { return s.BreakerOpens },
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Block signals entered and waits for release (or ctx): it holds a
// server's only in-flight slot.
type Block struct{ entered, release chan struct{} }

// Mul blocks.
func (b *Block) Mul(ctx context.Context, a *testutils.Args, r *testutils.Reply) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return nil
}

// checkStats fails t unless every counter of Instrument, collected with
// courier.service = "Arith", has the value want gives it (0 when
// missing) and equals the XClient's Stats().
func checkStats(t *testing.T, e *env, xc client.XClient, want map[string]int64) {
	t.Helper()
	st := xc.Stats()
	svc := map[string]string{"courier.service": "Arith"}
	for name, get := range statNames {
		got := sumWhere(t, e, name, svc)
		if got != want[name] {
			t.Errorf("%s = %d, want %d", name, got, want[name])
		}
		if uint64(got) != get(&st) {
			t.Errorf("%s = %d, Stats() has %d", name, got, get(&st))
		}
	}
	for name := range want {
		if _, ok := statNames[name]; !ok {
			t.Fatalf("unknown counter %s", name)
		}
	}
}

// Each XClient decision Instrument exports, provoked on its own and
// counted exactly: a retry the budget refused, a non-idempotent call not
// retried, a transparent retry, an ejection, an overloaded answer, a
// NOT_SERVING server, a breaker opening.
func TestInstrumentExportsStats(t *testing.T) {
	call := func(t *testing.T, xc client.XClient) error {
		return xc.Call(t.Context(), "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{})
	}
	t.Run("budget", func(t *testing.T) {
		e := newEnv(t)
		addr := serve(t, server.NewServer(), map[string]any{"Arith": Dropper{}})
		opt := client.DefaultOption
		opt.RetryBudget = client.NewRetryBudget(0, 0, time.Minute) // no extra attempt at all
		xc := xclient(t, "Arith", client.Failover, opt, nil, addr)
		if err := e.clientPlugin().Instrument(xc); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if call(t, xc) == nil {
				t.Fatal("call to a dropping server succeeded")
			}
		}
		checkStats(t, e, xc, map[string]int64{"courier.client.retry_budget.exhausted": 3})
	})
	t.Run("nonidempotent", func(t *testing.T) {
		e := newEnv(t)
		addr := serve(t, server.NewServer(), map[string]any{"Arith": Dropper{}})
		opt := client.DefaultOption
		opt.NonIdempotent = []string{"Mul"}
		xc := xclient(t, "Arith", client.Failover, opt, nil, addr)
		if err := e.clientPlugin().Instrument(xc); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if call(t, xc) == nil {
				t.Fatal("call to a dropping server succeeded")
			}
		}
		checkStats(t, e, xc, map[string]int64{"courier.client.nonidempotent_stops": 2})
	})
	t.Run("transparent+ejection", func(t *testing.T) {
		e := newEnv(t)
		good, bad := serve(t, server.NewServer(), map[string]any{"Arith": new(testutils.Arith)}), deadAddr(t)
		opt := client.DefaultOption
		opt.Outlier.ConsecutiveFailures = 1
		xc := xclient(t, "Arith", client.Failfast, opt, nil, bad, good)
		xc.SetSelector(fixedSelector{key: "tcp@" + bad})
		if err := e.clientPlugin().Instrument(xc); err != nil {
			t.Fatal(err)
		}
		for range 3 { // the first goes to bad, is ejected and retried on good; then good only
			if err := call(t, xc); err != nil {
				t.Fatal(err)
			}
		}
		checkStats(t, e, xc, map[string]int64{"courier.client.transparent_retries": 1, "courier.client.ejections": 1})
		// The failed dial sent nothing: 3 attempts on a connection, none a retry.
		if a, r := sumWhere(t, e, "courier.client.attempts", nil), sumWhere(t, e, "courier.client.retries", nil); a != 3 || r != 0 {
			t.Errorf("attempts %d retries %d, want 3 and 0", a, r)
		}
	})
	t.Run("overloaded", func(t *testing.T) {
		e := newEnv(t)
		busy := &Block{entered: make(chan struct{}, 1), release: make(chan struct{})}
		busyAddr := serve(t, server.NewServer(server.WithMaxInFlight(1)), map[string]any{"Arith": busy})
		good := serve(t, server.NewServer(), map[string]any{"Arith": new(testutils.Arith)})
		c := client.NewClient(client.DefaultOption) // fills busy's only slot
		if err := c.Connect("tcp", busyAddr); err != nil {
			t.Fatal(err)
		}
		blocked := make(chan error, 1)
		go func() { blocked <- c.Call(context.Background(), "Arith", "Mul", &testutils.Args{}, &testutils.Reply{}) }()
		<-busy.entered
		defer func() { close(busy.release); <-blocked; c.Close() }()
		opt := client.DefaultOption
		opt.Outlier.Disabled = true
		xc := xclient(t, "Arith", client.Failfast, opt, nil, busyAddr, good)
		xc.SetSelector(fixedSelector{key: "tcp@" + busyAddr})
		if err := e.clientPlugin().Instrument(xc); err != nil {
			t.Fatal(err)
		}
		if err := call(t, xc); err != nil { // refused by busy, sent to good
			t.Fatal(err)
		}
		checkStats(t, e, xc, map[string]int64{"courier.client.overloaded": 1, "courier.client.transparent_retries": 1})
		// The refused request was sent: 2 attempts, the second a retry.
		if a, r := sumWhere(t, e, "courier.client.attempts", nil), sumWhere(t, e, "courier.client.retries", nil); a != 2 || r != 1 {
			t.Errorf("attempts %d retries %d, want 2 and 1", a, r)
		}
	})
	t.Run("not_serving", func(t *testing.T) {
		e := newEnv(t)
		s := server.NewServer()
		h, err := health.Register(s)
		if err != nil {
			t.Fatal(err)
		}
		addr := serve(t, s, map[string]any{"Arith": new(testutils.Arith)})
		opt := client.DefaultOption
		opt.HealthCheck = client.HealthCheckConfig{Enabled: true, Interval: 20 * time.Millisecond}
		xc := xclient(t, "Arith", client.Failfast, opt, nil, addr)
		if err := e.clientPlugin().Instrument(xc); err != nil {
			t.Fatal(err)
		}
		h.SetServingStatus("Arith", health.NotServing)
		waitFor(t, "the server to leave selection", func() bool { return xc.Stats().NotServing == 1 })
		checkStats(t, e, xc, map[string]int64{"courier.client.not_serving": 1})
	})
	t.Run("breaker", func(t *testing.T) {
		e := newEnv(t)
		addr := serve(t, server.NewServer(), map[string]any{"Arith": Dropper{}})
		opt := client.DefaultOption
		opt.GenBreaker = func() client.Breaker { return client.NewConsecCircuitBreaker(1, time.Hour) }
		xc := xclient(t, "Arith", client.Failfast, opt, nil, addr)
		if err := e.clientPlugin().Instrument(xc); err != nil {
			t.Fatal(err)
		}
		if call(t, xc) == nil {
			t.Fatal("call to a dropping server succeeded")
		}
		if err := call(t, xc); !errors.Is(err, client.ErrBreakerOpen) {
			t.Fatalf("second call: %v, want the open breaker", err)
		}
		checkStats(t, e, xc, map[string]int64{"courier.client.breaker.opens": 1})
	})
}

// Two XClients of one service are summed into one series, an XClient
// instrumented twice counts once, Instrument does not add the plugin a
// second time, and a nil XClient is an error.
func TestInstrumentSumsAndDeduplicates(t *testing.T) {
	e := newEnv(t)
	addr := serve(t, server.NewServer(), map[string]any{"Arith": Dropper{}})
	opt := client.DefaultOption
	opt.NonIdempotent = []string{"Mul"}
	p := e.clientPlugin()
	x1 := xclient(t, "Arith", client.Failover, opt, p, addr) // p added already
	x2 := xclient(t, "Arith", client.Failtry, opt, nil, addr)
	for _, x := range []client.XClient{x1, x2, x1} {
		if err := p.Instrument(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Instrument(nil); !errors.Is(err, clientotel.ErrNilXClient) {
		t.Fatalf("Instrument(nil) = %v, want ErrNilXClient", err)
	}
	if n := len(x1.GetPlugins().All()); n != 1 {
		t.Fatalf("x1 has %d plugins, want 1", n)
	}
	for _, x := range []client.XClient{x1, x1, x2} {
		if x.Call(t.Context(), "Mul", &testutils.Args{}, &testutils.Reply{}) == nil {
			t.Fatal("call to a dropping server succeeded")
		}
	}
	if got := sumWhere(t, e, "courier.client.nonidempotent_stops", map[string]string{"courier.service": "Arith"}); got != 3 {
		t.Fatalf("nonidempotent_stops = %d, want 3 (2 + 1)", got)
	}
	if got := sumWhere(t, e, "courier.client.attempts", nil); got != 3 {
		t.Fatalf("attempts = %d, want 3: each call's hooks ran once", got)
	}
}

// waitFor polls cond every 5 ms until it holds or 10 s passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}
