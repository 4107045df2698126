package serverplugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// snapshot is what the metrics of one method say.
type snapshot struct {
	read, write, errs, calls, inFlight int64
}

// methodSnapshot reads the metrics of Arith.method from r.
func methodSnapshot(r metrics.Registry, method string) snapshot {
	base := "service.Arith." + method
	var s snapshot
	if m, ok := r.Get(base + ".Read_Qps").(metrics.Meter); ok {
		s.read = m.Count()
	}
	if m, ok := r.Get(base + ".Write_Qps").(metrics.Meter); ok {
		s.write = m.Count()
	}
	if m, ok := r.Get(base + ".Error_Qps").(metrics.Meter); ok {
		s.errs = m.Count()
	}
	if h, ok := r.Get(base + ".CallTime").(metrics.Histogram); ok {
		s.calls = h.Count()
	}
	if c, ok := r.Get(base + ".InFlight").(metrics.Counter); ok {
		s.inFlight = c.Count()
	}
	return s
}

// counter returns the count of the counter or meter name in r.
func counter(r metrics.Registry, name string) int64 {
	switch m := r.Get(name).(type) {
	case metrics.Counter:
		return m.Count()
	case metrics.Meter:
		return m.Count()
	}
	return -1
}

// eventually polls cond every few milliseconds until it holds or 10s pass;
// responses are counted after they are written, so counts may trail the
// client by a moment.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within 10s; last: %s", what, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantMethod waits until Arith.method's metrics in r equal want.
func wantMethod(t testing.TB, r metrics.Registry, method string, want snapshot) {
	t.Helper()
	eventually(t, "metrics of Arith."+method, func() (bool, string) {
		got := methodSnapshot(r, method)
		return got == want, fmt.Sprintf("%+v, want %+v", got, want)
	})
}

func TestMetricsEndToEndCounts(t *testing.T) {
	reg := metrics.NewRegistry()
	p := serverplugin.NewMetricsPlugin(reg)
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(p) })
	c := dial(t, addr)
	const muls, divs, divErrs = 37, 12, 5
	for i := 0; i < muls; i++ {
		if got, err := mul(callCtx(t, nil), c, i, 2); err != nil || got != 2*i {
			t.Fatalf("Mul: %d, %v", got, err)
		}
	}
	for i := 0; i < divs; i++ {
		b := 1
		if i < divErrs {
			b = 0 // divide by zero: an error response
		}
		err := c.Call(callCtx(t, nil), "Arith", "Div", &testutils.Args{A: 10, B: b}, &testutils.Reply{})
		if (err != nil) != (b == 0) {
			t.Fatalf("Div(10, %d): %v", b, err)
		}
	}
	wantMethod(t, reg, "Mul", snapshot{read: muls, write: muls, errs: 0, calls: muls, inFlight: 0})
	wantMethod(t, reg, "Div", snapshot{read: divs, write: divs, errs: divErrs, calls: divs, inFlight: 0})
	if got := counter(reg, "serviceCounter"); got != 1 {
		t.Fatalf("serviceCounter %d, want 1", got)
	}
	if got := counter(reg, "clientMeter"); got != 1 {
		t.Fatalf("clientMeter %d, want 1", got)
	}
	if got := counter(reg, "connections"); got != 1 {
		t.Fatalf("connections %d, want 1", got)
	}
	c.Close()
	eventually(t, "connections back to 0", func() (bool, string) {
		n := counter(reg, "connections")
		return n == 0, fmt.Sprint(n)
	})
}

// discardLogger is a metrics.Logger that counts lines.
type discardLogger struct{ n atomic.Int64 }

func (l *discardLogger) Printf(string, ...interface{}) { l.n.Add(1) }

// TestMetricsUnderLoad is scenario 24: metrics and logging plugins under
// 10,000 concurrent calls, with the exporters reading the registry
// meanwhile: no crash, no race (run with -race), exact counts.
func TestMetricsUnderLoad(t *testing.T) {
	const (
		conns   = 4
		workers = 100
		total   = 10000
	)
	reg := metrics.NewRegistry()
	p := serverplugin.NewMetricsPlugin(reg)
	logger := &discardLogger{}
	p.Log(50*time.Millisecond, logger)
	t.Cleanup(p.Stop)
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(p) })
	clients := make([]*client.Client, conns)
	for i := range clients {
		clients[i] = dial(t, addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stopScrape := make(chan struct{})
	scraped := make(chan int)
	go func() { // an HTTP scraper reading the registry during the load
		n := 0
		defer func() { scraped <- n }()
		h := p.HTTPHandler()
		for {
			select {
			case <-stopScrape:
				return
			default:
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			if !json.Valid(rec.Body.Bytes()) {
				t.Error("scrape returned invalid JSON")
				return
			}
			n++
			time.Sleep(20 * time.Millisecond)
		}
	}()

	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w%conns]
			for {
				i := next.Add(1)
				if i > total || ctx.Err() != nil {
					return
				}
				if got, err := mul(ctx, c, int(i), 3); err != nil || got != 3*int(i) {
					if failed.Add(1) <= 3 {
						t.Errorf("call %d: %d, %v", i, got, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopScrape)
	scrapes := <-scraped
	if failed.Load() > 0 || ctx.Err() != nil {
		t.Fatalf("%d calls failed (ctx %v)", failed.Load(), ctx.Err())
	}
	wantMethod(t, reg, "Mul", snapshot{read: total, write: total, calls: total})
	t.Logf("%d calls from %d goroutines over %d connections in %v (%.0f calls/s); %d scrapes, %d log lines meanwhile",
		total, workers, conns, elapsed.Round(time.Millisecond), total/elapsed.Seconds(), scrapes, logger.n.Load())
}

func TestMetricsEndToEndHandlerRoute(t *testing.T) {
	reg := metrics.NewRegistry()
	p := serverplugin.NewMetricsPlugin(reg)
	_, addr := startServer(t, func(s *server.Server) {
		s.Plugins.Add(p)
		s.AddHandler("Arith", "Square", func(ctx *server.Context) error {
			var args testutils.Args
			if err := ctx.Bind(&args); err != nil {
				return err
			}
			return ctx.Write(&testutils.Reply{C: args.A * args.A})
		})
	})
	c := dial(t, addr)
	const n = 9
	for i := 0; i < n; i++ {
		reply := &testutils.Reply{}
		if err := c.Call(callCtx(t, nil), "Arith", "Square", &testutils.Args{A: i}, reply); err != nil || reply.C != i*i {
			t.Fatalf("Square(%d) = %d, %v", i, reply.C, err)
		}
	}
	wantMethod(t, reg, "Square", snapshot{read: n, write: n, calls: n})
}

func TestMetricsEndToEndClosedMidCall(t *testing.T) {
	reg := metrics.NewRegistry()
	p := serverplugin.NewMetricsPlugin(reg)
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(p) })
	c := dial(t, addr)
	done := make(chan error, 1)
	go func() {
		// Sleeps up to 5s or until the server cancels it.
		done <- c.Call(callCtx(t, nil), "Arith", "Sleep", &testutils.Args{A: 5000}, &testutils.Reply{})
	}()
	eventually(t, "Sleep in flight", func() (bool, string) {
		s := methodSnapshot(reg, "Sleep")
		return s.inFlight == 1, fmt.Sprintf("%+v", s)
	})
	c.Close()
	if err := <-done; err == nil {
		t.Fatal("a call on a closed client succeeded")
	}
	eventually(t, "in flight and connections back to 0", func() (bool, string) {
		s := methodSnapshot(reg, "Sleep")
		n := counter(reg, "connections")
		return s.inFlight == 0 && n == 0, fmt.Sprintf("%+v, connections %d", s, n)
	})
}
