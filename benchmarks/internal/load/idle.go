package load

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/fw"
	"github.com/courier-rpc/courier/benchmarks/internal/stats"
	"github.com/courier-rpc/courier/benchmarks/pb"
)

// IdleConfig describes an idle-connection run: open N connections, make one
// call on each (so every per-connection buffer the server keeps is in
// place), let them sit, and read the server's memory before and after.
type IdleConfig struct {
	Framework string
	Addr      string
	StatsAddr string // required
	Label     string
	Rep       int
	N         int           // connections to hold open (>= 1)
	Dialers   int           // connections opened in parallel (default 64)
	Settle    time.Duration // wait before reading the server (default 1s)
	Timeout   time.Duration // bound on opening all connections (default 120s)
}

// check rejects an unusable config and fills in the defaults.
func (cfg *IdleConfig) check() error {
	if cfg.N < 1 || cfg.StatsAddr == "" {
		return fmt.Errorf("%w: idle needs n >= 1 and a stats address", ErrBadConfig)
	}
	if cfg.Dialers < 1 {
		cfg.Dialers = 64
	}
	if cfg.Settle <= 0 {
		cfg.Settle = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 120 * time.Second
	}
	return nil
}

// RunIdle performs one idle-connection run.
func RunIdle(cfg IdleConfig) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	f, err := fw.Get(cfg.Framework)
	if err != nil {
		return Result{}, err
	}
	// A first connection and call, so that lazily built server state (codec
	// tables, service maps, pools) is not charged to the idle connections.
	first, err := Dial(f, cfg.Addr, 1)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(first)
	args := pb.NewArgs(0)
	if err := first[0].Call(context.Background(), args, new(pb.BenchmarkMessage)); err != nil {
		return Result{}, fmt.Errorf("first call: %w", err)
	}
	m, err := measureIdle(cfg, func(int) (fw.Conn, error) {
		c, err := f.Dial(cfg.Addr)
		if err != nil {
			return nil, err
		}
		return c, c.Call(context.Background(), args, new(pb.BenchmarkMessage))
	})
	defer closeAll(m.open)
	if err != nil {
		return Result{}, err
	}
	return m.result(cfg, "idle"), nil
}

// idleRun is what measureIdle saw: the connections left open, how many
// made their call, the first error, the time taken to open them all, and
// the server's and this process's snapshots before and after.
type idleRun[C any] struct {
	open                                     []C
	ok                                       int
	firstErr                                 error
	connect                                  time.Duration
	before, after, clientBefore, clientAfter stats.Snapshot
}

// measureIdle settles and reads the server's and this process's memory,
// opens cfg.N connections with open(i) on cfg.Dialers goroutines (until
// cfg.Timeout), settles again and reads both once more. open returns the
// connection whenever one was made (it stays open, and is in the result,
// for the caller to close) and an error when its call failed. The server's
// second reading is "end" (a server run with -memprofile writes its heap
// then). On an error from the stats endpoint the connections opened so
// far are still returned.
func measureIdle[C comparable](cfg IdleConfig, open func(i int) (C, error)) (idleRun[C], error) {
	var m idleRun[C]
	time.Sleep(cfg.Settle)
	m.clientBefore = settledSelf()
	var err error
	if m.before, err = stats.Fetch(cfg.StatsAddr, "stats"); err != nil {
		return m, err
	}
	conns := make([]C, cfg.N)
	var next, okCount atomic.Int64
	var errMu sync.Mutex
	deadline := time.Now().Add(cfg.Timeout)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range cfg.Dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.N || time.Now().After(deadline) {
					return
				}
				c, err := open(i)
				conns[i] = c
				if err == nil {
					okCount.Add(1)
					continue
				}
				errMu.Lock()
				if m.firstErr == nil {
					m.firstErr = err
				}
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	m.connect = time.Since(t0)
	m.ok = int(okCount.Load())
	var zero C
	for _, c := range conns {
		if c != zero {
			m.open = append(m.open, c)
		}
	}
	time.Sleep(cfg.Settle)
	m.clientAfter = settledSelf()
	m.after, err = stats.Fetch(cfg.StatsAddr, "end")
	return m, err
}

// result is the run's Result in mode ("idle" or "idlehttp").
func (m *idleRun[C]) result(cfg IdleConfig, mode string) Result {
	res := idleResult(cfg, mode, m.ok, m.connect, m.before, m.after, m.clientBefore, m.clientAfter)
	if m.firstErr != nil {
		res.FirstError = m.firstErr.Error()
	}
	return res
}

// idleResult is the Result of an idle run (mode "idle" or "idlehttp") in
// which ok of cfg.N connections made their call: the server's and this
// process's growth between the two pairs of snapshots, per connection.
func idleResult(cfg IdleConfig, mode string, ok int, connect time.Duration, before, after, clientBefore, clientAfter stats.Snapshot) Result {
	res := Result{
		Framework: cfg.Framework, Label: cfg.Label, Rep: cfg.Rep, Mode: mode,
		Idle:               ok,
		Errors:             uint64(cfg.N - ok), // failed, or not tried before the timeout
		IdleConnectSeconds: connect.Seconds(),
		ServerRSSKB:        after.RSSKB,
		ServerGorout:       after.Goroutines,
	}
	if ok > 0 {
		n := float64(ok)
		res.IdleRSSPerConn = float64(after.RSSKB-before.RSSKB) * 1024 / n
		res.IdleHeapPerConn = (float64(after.HeapInuse+after.StackInuse) - float64(before.HeapInuse+before.StackInuse)) / n
		res.IdleGoroutPerConn = float64(after.Goroutines-before.Goroutines) / n
		res.IdleClientRSSPerConn = float64(clientAfter.RSSKB-clientBefore.RSSKB) * 1024 / n
		res.IdleClientHeapPerConn = (float64(clientAfter.HeapInuse+clientAfter.StackInuse) - float64(clientBefore.HeapInuse+clientBefore.StackInuse)) / n
		res.IdleClientGoroutPerConn = float64(clientAfter.Goroutines-clientBefore.Goroutines) / n
	}
	return res
}

// settledSelf reads this (client) process's memory after a garbage
// collection, so that garbage of the dialing phase is not counted as what
// the idle connections keep. The server side is read as it is (its own
// runtime decides when to collect), as before.
func settledSelf() stats.Snapshot {
	runtime.GC()
	return stats.Take()
}
