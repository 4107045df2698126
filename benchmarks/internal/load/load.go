// Package load is the load generator: C goroutines share a pool of
// connections and call the benchmark method, closed-loop (each goroutine
// calls again as soon as its call returns) or open-loop (calls are scheduled
// at a fixed total rate and latency is counted from each call's intended
// start, so a slow server cannot hide its queueing: no coordinated
// omission). A warm-up precedes a measured window bounded by a duration and
// optionally a request count.
package load

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/fw"
	"github.com/courier-rpc/courier/benchmarks/internal/hist"
	"github.com/courier-rpc/courier/benchmarks/internal/stats"
	"github.com/courier-rpc/courier/benchmarks/pb"
)

// Config describes one run.
type Config struct {
	Framework string
	Addr      string // RPC address of the server
	StatsAddr string // stats address of the server; empty skips server costs
	Label     string
	Rep       int

	C        int           // concurrent callers (>= 1)
	Pool     int           // connections shared by the callers (>= 1)
	Duration time.Duration // measured window (> 0; the window also ends after N requests)
	N        uint64        // requests in the window; 0 means only Duration bounds it
	Warmup   time.Duration // unmeasured load before the window
	Rate     float64       // total calls per second; 0 means closed loop
	Payload  int           // bytes of Field4; 0 keeps the 581-byte message
	// Deadline, when > 0, gives every call its own deadline this far
	// ahead (context.WithTimeout), as programs that set deadlines do; the
	// frameworks that send deadlines (courier, grpc-go) carry it to the
	// server.
	Deadline time.Duration

	// OnWindow, when set, is called as the measured window opens (true) and
	// closes (false), e.g. to profile the client over the window.
	OnWindow func(open bool)

	// Drain bounds the wait for calls in flight when the window ends; calls
	// still pending after it are counted as errors and the run returns.
	Drain time.Duration
}

// ErrBadConfig reports an unusable Config.
var ErrBadConfig = errors.New("bad load config")

func (c *Config) check() error {
	switch {
	case c.C < 1:
		return fmt.Errorf("%w: c must be >= 1", ErrBadConfig)
	case c.Pool < 1:
		return fmt.Errorf("%w: pool must be >= 1", ErrBadConfig)
	case c.Duration <= 0:
		return fmt.Errorf("%w: duration must be > 0 (runs are always bounded)", ErrBadConfig)
	case c.Rate < 0 || c.Payload < 0 || c.Warmup < 0 || c.Deadline < 0:
		return fmt.Errorf("%w: negative rate, payload, warmup or deadline", ErrBadConfig)
	}
	if c.Drain <= 0 {
		c.Drain = 30 * time.Second
	}
	return nil
}

const shards = 16

// runner holds the shared state of the caller goroutines.
type runner struct {
	cfg   Config
	conns []fw.Conn
	base  time.Time

	phase    atomic.Int32 // 0 warm-up, 1 measure, 2 stop
	issued   atomic.Uint64
	nDone    chan struct{}
	nOnce    sync.Once
	lastEnd  atomic.Int64
	errs     atomic.Uint64
	errMu    sync.Mutex
	firstErr error
	hists    [shards]hist.Histogram
}

func (r *runner) now() int64 { return int64(time.Since(r.base)) }

// Dial opens n connections of framework f to addr.
func Dial(f fw.Framework, addr string, n int) ([]fw.Conn, error) {
	conns := make([]fw.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := f.Dial(addr)
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []fw.Conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = c.Close()
		}()
	}
	wg.Wait()
}

// Run performs one closed- or open-loop run.
func Run(cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	f, err := fw.Get(cfg.Framework)
	if err != nil {
		return Result{}, err
	}
	conns, err := Dial(f, cfg.Addr, cfg.Pool)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(conns)
	// One call per connection, so that lazy transports are up.
	for _, c := range conns {
		if err := c.Call(context.Background(), pb.NewArgs(cfg.Payload), new(pb.BenchmarkMessage)); err != nil {
			return Result{}, fmt.Errorf("first call: %w", err)
		}
	}

	r := &runner{cfg: cfg, conns: conns, base: time.Now(), nDone: make(chan struct{})}
	var wg sync.WaitGroup
	for w := 0; w < cfg.C; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(w)
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	time.Sleep(cfg.Warmup)

	var ms0, ms1 runtime.MemStats
	var srv0, srv1 stats.Snapshot
	if cfg.StatsAddr != "" {
		if srv0, err = stats.Fetch(cfg.StatsAddr, "begin"); err != nil {
			r.phase.Store(2)
			return Result{}, err
		}
	}
	if cfg.OnWindow != nil {
		cfg.OnWindow(true)
	}
	cpu0 := stats.CPU()
	io0 := stats.Take()
	runtime.ReadMemStats(&ms0)
	start := r.now()
	r.phase.Store(1)

	timer := time.NewTimer(cfg.Duration)
	select {
	case <-timer.C:
	case <-r.nDone:
		timer.Stop()
	}
	r.phase.Store(2)
	end := r.now()
	if cfg.OnWindow != nil {
		defer cfg.OnWindow(false)
	}

	hung := false
	select {
	case <-finished:
	case <-time.After(cfg.Drain):
		hung = true
	}
	if last := r.lastEnd.Load(); last > end {
		end = last
	}
	runtime.ReadMemStats(&ms1)
	io1 := stats.Take()
	cpu1 := stats.CPU()
	if cfg.StatsAddr != "" {
		if srv1, err = stats.Fetch(cfg.StatsAddr, "end"); err != nil {
			return Result{}, err
		}
	}

	var h hist.Histogram
	for i := range r.hists {
		h.Merge(&r.hists[i])
	}
	res := Result{
		Framework: cfg.Framework, Label: cfg.Label, Rep: cfg.Rep, Mode: "closed",
		C: cfg.C, Pool: cfg.Pool, Rate: cfg.Rate, Payload: cfg.Payload,
		Seconds:  float64(end-start) / 1e9,
		Requests: h.Count(),
		Errors:   r.errs.Load(),
		P50:      us(h.Quantile(0.50)),
		P99:      us(h.Quantile(0.99)),
		P999:     us(h.Quantile(0.999)),
		Max:      us(h.Max()),
		Mean:     us(h.Mean()),
	}
	if cfg.Rate > 0 {
		res.Mode = "open"
	}
	r.errMu.Lock()
	if r.firstErr != nil {
		res.FirstError = r.firstErr.Error()
	}
	r.errMu.Unlock()
	if hung {
		res.FirstError = fmt.Sprintf("calls still pending %v after the window; %s", cfg.Drain, res.FirstError)
		res.Errors++
	}
	if res.Seconds > 0 {
		res.RPS = float64(res.Requests) / res.Seconds
	}
	if n := float64(res.Requests + res.Errors); n > 0 {
		res.ClientCPU = float64(cpu1-cpu0) / n
		res.ClientAllocs = float64(ms1.Mallocs-ms0.Mallocs) / n
		if io0.ReadCalls >= 0 && io1.ReadCalls >= 0 {
			res.ClientReads = float64(io1.ReadCalls-io0.ReadCalls) / n
			res.ClientWrites = float64(io1.WriteCalls-io0.WriteCalls) / n
		}
		if cfg.StatsAddr != "" {
			res.ServerCPU = float64(srv1.CPUMicros-srv0.CPUMicros) / n
			res.ServerAllocs = float64(srv1.Mallocs-srv0.Mallocs) / n
			if srv0.ReadCalls >= 0 && srv1.ReadCalls >= 0 {
				res.ServerReads = float64(srv1.ReadCalls-srv0.ReadCalls) / n
				res.ServerWrites = float64(srv1.WriteCalls-srv0.WriteCalls) / n
			}
		}
	}
	res.ServerRSSKB = srv1.RSSKB
	res.ServerGorout = srv1.Goroutines
	if hung {
		return res, fmt.Errorf("load: calls hung after the window")
	}
	return res, nil
}

// call makes one call, with its own deadline when the config asks for one.
func (r *runner) call(ctx context.Context, conn fw.Conn, args, reply *pb.BenchmarkMessage) error {
	if r.cfg.Deadline <= 0 {
		return conn.Call(ctx, args, reply)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Deadline)
	defer cancel()
	return conn.Call(ctx, args, reply)
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// worker is one caller. In open-loop mode it owns 1/C of the rate, its
// schedule offset by its index so the callers do not fire together.
func (r *runner) worker(w int) {
	ctx := context.Background()
	conn := r.conns[w%len(r.conns)]
	h := &r.hists[w%shards]
	args := pb.NewArgs(r.cfg.Payload)
	reply := new(pb.BenchmarkMessage)
	var interval, next float64
	if r.cfg.Rate > 0 {
		interval = float64(r.cfg.C) / r.cfg.Rate * 1e9
		next = interval * float64(w) / float64(r.cfg.C)
	}
	for {
		ph := r.phase.Load()
		if ph == 2 {
			return
		}
		if ph == 1 && r.cfg.N > 0 {
			if r.issued.Add(1) > r.cfg.N {
				r.nOnce.Do(func() { close(r.nDone) })
				return
			}
		}
		var start int64
		if interval > 0 {
			start = int64(next)
			next += interval
			if d := start - r.now(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			if r.phase.Load() == 2 {
				return
			}
		} else {
			start = r.now()
		}
		err := r.call(ctx, conn, args, reply)
		end := r.now()
		if ph != 1 {
			continue
		}
		if err != nil {
			r.errs.Add(1)
			r.errMu.Lock()
			if r.firstErr == nil {
				r.firstErr = err
			}
			r.errMu.Unlock()
			continue
		}
		h.Record(time.Duration(end - start))
		for {
			last := r.lastEnd.Load()
			if end <= last || r.lastEnd.CompareAndSwap(last, end) {
				break
			}
		}
	}
}
