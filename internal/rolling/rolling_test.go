package rolling

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
)

// Load of the rolling restart (issue 17): two-way calls and oneway
// messages per second, each spread over workers that tick every 10 ms.
const (
	callsPerSec  = 5000
	onewayPerSec = 1000
	perWorker    = 100 // one call per 10 ms tick
)

// tally counts outcomes; errs keeps the first few errors.
type tally struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
}

func (t *tally) add(err error) {
	if err == nil {
		t.ok.Add(1)
		return
	}
	t.failed.Add(1)
	t.mu.Lock()
	if len(t.errs) < 5 {
		t.errs = append(t.errs, err.Error())
	}
	t.mu.Unlock()
}

// freeAddrs returns n loopback addresses whose ports were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	return addrs
}

// loadSeconds is the load phase: 30 s unless COURIER_ROLLING_SECONDS says.
func loadSeconds(t *testing.T) time.Duration {
	if v := os.Getenv("COURIER_ROLLING_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4 {
			t.Fatalf("COURIER_ROLLING_SECONDS=%q: want a number of seconds >= 4", v)
		}
		return time.Duration(n) * time.Second
	}
	return 30 * time.Second
}

// runWorkers calls fn every 10 ms on each of n workers until stop closes.
func runWorkers(wg *sync.WaitGroup, stop <-chan struct{}, n int, fn func(i int)) {
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tk := time.NewTicker(time.Second / perWorker)
			defer tk.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				fn(w + i)
			}
		}(w)
	}
}

// TestRollingRestart: 3 server processes, each restarted in turn with
// SIGTERM under load, with no change of the client's server list: no call
// fails, no oneway message is refused or lost.
func TestRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("rolling restart takes about 35 s; run without -short (make test-rolling)")
	}
	load := loadSeconds(t)
	addrs := freeAddrs(t, 3)
	procs := make([]*proc, len(addrs))
	pairs := make([]*client.KVPair, len(addrs))
	for i, a := range addrs {
		procs[i] = startProc(t, a)
		pairs[i] = &client.KVPair{Key: "tcp@" + a}
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		t.Fatal(err)
	}
	xc := client.NewXClient("Roll", client.Failover, client.RoundRobin, d, client.DefaultOption)
	defer xc.Close()
	runRolling(t, xc, procs, addrs, load, func(addr string) *proc { return startProc(t, addr) })
}

// runRolling runs the load on xc for load, restarting procs[i] (listening
// on addrs[i]) one at a time with SIGTERM and restart, and checks that no
// call failed and no oneway message was refused or lost.
func runRolling(t *testing.T, xc client.XClient, procs []*proc, addrs []string, load time.Duration, restart func(addr string) *proc) {
	var calls, oneway tally
	stop := make(chan struct{})
	var wg sync.WaitGroup
	call := func(int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var r Reply
		err := xc.Call(ctx, "Mul", &Args{A: 6, B: 7}, &r)
		if err == nil && r.C != 42 {
			t.Errorf("Mul = %d", r.C)
		}
		calls.add(err)
	}
	note := func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if i%2 == 0 {
			oneway.add(xc.Call(ctx, "Note", &Args{A: i}, nil))
		} else {
			oneway.add(xc.Oneshot(ctx, "Note", &Args{A: i}))
		}
	}
	start := time.Now()
	runWorkers(&wg, stop, callsPerSec/perWorker, call)
	runWorkers(&wg, stop, onewayPerSec/perWorker, note)

	var received int64
	for i := range procs {
		at := start.Add(load * time.Duration(i+1) / time.Duration(len(procs)+1))
		time.Sleep(time.Until(at)) // the schedule of the restarts, not a wait for a server
		down := time.Now()
		received += procs[i].stop(t)
		procs[i] = restart(addrs[i])
		t.Logf("server %d restarted in %v", i, time.Since(down).Round(time.Millisecond))
	}
	time.Sleep(time.Until(start.Add(load)))
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	for _, p := range procs {
		received += p.stop(t)
	}
	t.Logf("%v: %d calls (%.0f/s), %d failed; %d oneway sent (%.0f/s), %d refused, %d received",
		elapsed.Round(time.Millisecond), calls.ok.Load()+calls.failed.Load(), float64(calls.ok.Load()+calls.failed.Load())/elapsed.Seconds(),
		calls.failed.Load(), oneway.ok.Load(), float64(oneway.ok.Load()+oneway.failed.Load())/elapsed.Seconds(), oneway.failed.Load(), received)
	if n := calls.failed.Load(); n != 0 {
		t.Errorf("%d calls failed, e.g. %q", n, calls.errs)
	}
	if n := oneway.failed.Load(); n != 0 {
		t.Errorf("%d oneway messages refused, e.g. %q", n, oneway.errs)
	}
	if lost := oneway.ok.Load() - received; lost != 0 {
		t.Errorf("%d oneway messages sent, %d received: %d lost", oneway.ok.Load(), received, lost)
	}
}
