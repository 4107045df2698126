package prometheus

import (
	"errors"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// serve starts an Arith server on loopback TCP and returns its key.
func serve(t *testing.T) (string, *server.Server) {
	t.Helper()
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("tcp", ln) }()
	<-s.Started
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "tcp@" + ln.Addr().String(), s
}

// deadKey returns the key of a loopback address nothing listens on.
func deadKey(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "tcp@" + addr
}

// TestExactCounts: 10,000 calls from 100 goroutines are counted exactly,
// failures get their error_type, and the exported counters equal the
// XClients' Stats() (summed per service) after retries over a dead server.
func TestExactCounts(t *testing.T) {
	key, _ := serve(t)
	reg := prom.NewRegistry()
	d, err := client.NewMultipleServersDiscovery([]*client.KVPair{{Key: key}, {Key: deadKey(t)}})
	if err != nil {
		t.Fatal(err)
	}
	opt := client.DefaultOption
	opt.DisableRetryBudget = true
	opt.GenBreaker = func() client.Breaker { return client.NewConsecCircuitBreaker(3, time.Minute) }
	x1 := client.NewXClient("Arith", client.Failover, client.RoundRobin, d, opt)
	x2 := client.NewXClient("Arith", client.Failfast, client.RandomSelect, d, opt)
	defer x1.Close()
	defer x2.Close()
	p, err := Install(reg, x1, x2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Instrument(x1); err != nil { // twice: exported once
		t.Fatal(err)
	}
	if _, err := New(reg); err == nil {
		t.Fatal("a second plugin on one registry: no error")
	}

	const goroutines, perG = 100, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		x := x1
		if g%2 == 1 {
			x = x2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				var r testutils.Reply
				if err := x.Call(t.Context(), "Mul", &testutils.Args{A: i, B: 2}, &r); err != nil || r.C != 2*i {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("call failed: %v", err)
	}
	for i := 0; i < 7; i++ {
		if err := x1.Call(t.Context(), "Div", &testutils.Args{A: 1}, &testutils.Reply{}); err == nil {
			t.Fatal("Div by zero succeeded")
		}
	}
	s1, s2 := x1.Stats(), x2.Stats()
	if s1.TransparentRetries+s2.TransparentRetries == 0 {
		t.Fatalf("no retry over the dead server: %+v %+v", s1, s2)
	}
	want := []string{
		`rpc_client_call_duration_seconds_count{error_type="",rpc_method="Arith/Mul",rpc_response_status_code="OK",rpc_system_name="rpcx"} 10000`,
		`rpc_client_call_duration_seconds_count{error_type="UNKNOWN",rpc_method="Arith/Div",rpc_response_status_code="UNKNOWN",rpc_system_name="rpcx"} 7`,
		`rpc_client_calls_in_flight 0`,
	}
	sum := func(f func(*client.XClientStats) uint64) uint64 { return f(&s1) + f(&s2) }
	for _, s := range statNames {
		want = append(want, `courier_client_`+s.name+`_total{service="Arith"} `+strconv.FormatUint(sum(s.get), 10))
	}
	text := gather(t, reg)
	for _, w := range want {
		if !strings.Contains(text, w+"\n") {
			t.Errorf("missing %s", w)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
	if n := strings.Count(text, `{service="Arith"}`); n != len(statNames) {
		t.Fatalf("%d counter series of Arith, want %d (x1 and x2 summed, x1 once)", n, len(statNames))
	}
}

// gather returns the registry's exposition in the text format.
func gather(t *testing.T, reg *prom.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
