package serverplugin_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// hammer runs workers goroutines that call Arith.Mul over clients until
// window has passed since the first call, pausing pause between calls. It
// returns the calls that completed inside the window, successful and
// failed, and the calls started in all.
func hammer(t *testing.T, clients []*client.Client, workers int, window, pause time.Duration, check func(error)) (ok, failed, started int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), window+30*time.Second)
	defer cancel()
	var okN, failN, startN atomic.Int64
	start := time.Now()
	end := start.Add(window)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w%len(clients)]
			for time.Now().Before(end) {
				startN.Add(1)
				got, err := mul(ctx, c, w, 2)
				inWindow := !time.Now().After(end)
				switch {
				case err == nil && got == 2*w:
					if inWindow {
						okN.Add(1)
					}
				case err == nil:
					t.Errorf("wrong reply %d", got)
					return
				default:
					check(err)
					if inWindow {
						failN.Add(1)
					}
				}
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}()
	}
	wg.Wait()
	return okN.Load(), failN.Load(), startN.Load()
}

// within reports whether got is within 10% of want.
func within(got, want float64) bool { return got >= 0.9*want && got <= 1.1*want }

func TestReqRateLimitingBlockingRate(t *testing.T) {
	const (
		fill     = 10 * time.Millisecond // 100 requests/s
		capacity = 20                    // absorbs stalls of a loaded machine (-race, shared cores)
		window   = 5 * time.Second
	)
	p := serverplugin.NewReqRateLimitingPlugin(fill, capacity, true)
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(p) })
	clients := []*client.Client{dial(t, addr), dial(t, addr)}
	ok, failed, _ := hammer(t, clients, 32, window, 0, func(err error) { t.Errorf("blocking limiter failed a call: %v", err) })
	// The bucket starts full: capacity calls are free, the rest come at
	// the fill rate.
	rate := float64(ok-capacity) / window.Seconds()
	want := float64(time.Second / fill)
	t.Logf("blocking: configured %.0f req/s (burst %d), achieved %.1f req/s over %v (%d calls, %d failed)", want, capacity, rate, window, ok, failed)
	if failed != 0 || !within(rate, want) {
		t.Fatalf("achieved %.1f req/s, want %.0f ± 10%%", rate, want)
	}
}

func TestReqRateLimitingRejectRate(t *testing.T) {
	const (
		fill     = 10 * time.Millisecond // 100 requests/s
		capacity = 10
		window   = 2 * time.Second
	)
	p := serverplugin.NewReqRateLimitingPlugin(fill, capacity, false)
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(p) })
	clients := []*client.Client{dial(t, addr), dial(t, addr)}
	var unexpected atomic.Int64
	ok, failed, started := hammer(t, clients, 4, window, time.Millisecond, func(err error) {
		if !strings.Contains(err.Error(), server.ErrReqReachLimit.Error()) {
			if unexpected.Add(1) <= 3 {
				t.Errorf("a limited call failed with %v, want %q", err, server.ErrReqReachLimit)
			}
		}
	})
	want := capacity + window.Seconds()*float64(time.Second/fill)
	t.Logf("non-blocking: configured %.0f req/s + burst %d, %d ok (want %.0f) and %d refused of %d calls in %v",
		float64(time.Second/fill), capacity, ok, want, failed, started, window)
	if !within(float64(ok), want) {
		t.Fatalf("%d calls succeeded in %v, want %.0f ± 10%%", ok, window, want)
	}
	if failed == 0 {
		t.Fatal("no call was refused")
	}
	// Every call got an answer, none was dropped: the clients are still
	// usable once the bucket refills.
	for _, c := range clients {
		if c.IsShutdown() || c.IsClosing() {
			t.Fatal("a refused request closed its connection")
		}
	}
}

func TestRateLimitingConnections(t *testing.T) {
	p := serverplugin.NewRateLimitingPlugin(time.Hour, 2)
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(p) })
	for i := 0; i < 2; i++ {
		if got, err := mul(callCtx(t, nil), dial(t, addr), 3, 3); err != nil || got != 9 {
			t.Fatalf("connection %d: %d, %v", i, got, err)
		}
	}
	// The third connection is accepted by TCP and closed by the server at
	// once: its call fails (it does not hang).
	c := client.NewClient(client.DefaultOption)
	t.Cleanup(func() { c.Close() })
	if err := c.Connect("tcp", addr); err != nil {
		return // refused while connecting: fine too
	}
	_, err := mul(callCtx(t, nil), c, 3, 3)
	if err == nil {
		t.Fatal("a connection over the limit was served")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the refused connection's call hung: %v", err)
	}
}
