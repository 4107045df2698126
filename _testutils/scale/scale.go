package scale

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
)

// Config is one scale run. Zero fields take the defaults in brackets.
type Config struct {
	Registry string        // Etcd, ZooKeeper or Consul
	Addrs    []string      // the registry's client addresses
	Base     string        // base path [/courier_scale/<pid>]
	Servers  int           // servers registered by the child processes [50]
	Procs    int           // child processes hosting them [Servers/100, at least 2]
	Clients  int           // XClients, each with its own discovery [50]
	Singles  int           // steady-state single registrations measured [10]
	TTL      time.Duration // lease/session/check TTL of every plugin [4 s]
	Timeout  time.Duration // bound of the whole run [5 min]
	// Exe and Args start a child process; Exe must call ChildMain first
	// [os.Executable(), no arguments].
	Exe  string
	Args []string
	// Logf receives progress lines [discarded].
	Logf func(format string, args ...interface{})
}

func (c *Config) defaults() error {
	if len(c.Addrs) == 0 {
		return errors.New("scale: no registry address")
	}
	if c.Base == "" {
		c.Base = fmt.Sprintf("/courier_scale/%d", os.Getpid())
	}
	c.Servers = max(c.Servers, 0)
	if c.Servers == 0 {
		c.Servers = 50
	}
	if c.Procs <= 0 {
		c.Procs = max(2, c.Servers/100)
	}
	c.Procs = min(c.Procs, c.Servers)
	if c.Clients <= 0 {
		c.Clients = 50
	}
	if c.Singles <= 0 {
		c.Singles = 10
	}
	if c.TTL <= 0 {
		c.TTL = 4 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		c.Exe = exe
	}
	if c.Logf == nil {
		c.Logf = func(string, ...interface{}) {}
	}
	return nil
}

// service is the service path every harness server registers.
const service = "Scale"

// run is the state of one Run.
type run struct {
	cfg      Config
	ctx      context.Context
	keys     *keyIndex
	recs     []*recorder
	xcs      []client.XClient
	ds       []client.ServiceDiscovery
	children []*child
	res      Result
}

// Run performs one scale run (see Result) and returns what it measured.
// Every process it starts is stopped (by PID) before it returns, and it
// returns within cfg.Timeout plus the time to stop them.
func Run(cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	r := &run{cfg: cfg, ctx: ctx, keys: newKeyIndex(cfg.Servers + cfg.Singles + 8)}
	r.res = Result{Registry: cfg.Registry, Servers: cfg.Servers, Procs: cfg.Procs, Clients: cfg.Clients, TTL: cfg.TTL}
	defer r.cleanup()
	steps := []struct {
		name string
		fn   func() error
	}{
		{"clients", r.startClients},
		{"burst registration", r.burst},
		{"memory", r.memory},
		{"steady registry load", r.steadyLoad},
		{"single registrations", r.singles},
		{"SIGKILL", r.killOne},
		{"calls", r.calls},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.fn(); err != nil {
			return &r.res, fmt.Errorf("scale %s: %s: %w", cfg.Registry, s.name, err)
		}
		cfg.Logf("scale %s: %s done in %v", cfg.Registry, s.name, time.Since(start).Round(time.Millisecond))
	}
	return &r.res, nil
}

// processCPU is the user+system CPU time this process (the clients) used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heap returns the live heap plus goroutine stacks after a full
// collection, and the number of goroutines.
func heap() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse, runtime.NumGoroutine()
}

// startClients builds the XClients, each on its own discovery, and takes
// the heap with them watching nothing.
func (r *run) startClients() error {
	capacity := cap(r.keys.keys)
	for i := 0; i < r.cfg.Clients; i++ {
		d, err := newDiscovery(r.cfg.Registry, r.cfg.Addrs, r.cfg.Base, service)
		if err != nil {
			return fmt.Errorf("discovery %d: %w", i, err)
		}
		rec := newRecorder(r.keys, capacity)
		x := client.NewXClient(service, client.Failtry, client.SelectByUser, d, client.DefaultOption)
		x.SetSelector(rec)
		r.ds, r.recs, r.xcs = append(r.ds, d), append(r.recs, rec), append(r.xcs, x)
	}
	r.res.heapEmpty, r.res.goroutinesEmpty = heap()
	return nil
}

// burst starts the child processes at once and waits until every client
// sees every server; it records per-server propagation from registration.
func (r *run) burst() error {
	before := readStats(r.cfg.Registry, r.cfg.Addrs)
	start, cpu0 := time.Now(), processCPU()
	per, extra := r.cfg.Servers/r.cfg.Procs, r.cfg.Servers%r.cfg.Procs
	for i := 0; i < r.cfg.Procs; i++ {
		n := per
		if i < extra {
			n++
		}
		c, err := startChild(r.cfg.Exe, r.cfg.Args, childConfig{Registry: r.cfg.Registry, Addrs: r.cfg.Addrs,
			Base: r.cfg.Base, Service: service, Count: n, TTL: r.cfg.TTL})
		if err != nil {
			return err
		}
		r.children = append(r.children, c)
	}
	for _, c := range r.children {
		select {
		case err := <-c.ready:
			if err != nil {
				return err
			}
		case <-r.ctx.Done():
			return fmt.Errorf("children not registered: %w", r.ctx.Err())
		}
	}
	regs := make(map[string]int64, r.cfg.Servers)
	for _, c := range r.children {
		_, m := c.registered()
		for k, v := range m {
			regs[k] = v
		}
	}
	idx, err := r.indexOf(regs)
	if err != nil {
		return err
	}
	if err := r.waitAll(idx, true); err != nil {
		return err
	}
	r.res.BurstAll = time.Since(start)
	r.res.BurstClientCPU = processCPU() - cpu0
	after := readStats(r.cfg.Registry, r.cfg.Addrs)
	r.res.BurstRate = rate(before, after, r.res.BurstAll)
	r.res.Burst = r.latencies(regs, (*recorder).seenAt)
	return nil
}

// indexOf numbers the keys of regs.
func (r *run) indexOf(regs map[string]int64) ([]int, error) {
	idx := make([]int, 0, len(regs))
	for k := range regs {
		i := r.keys.of(k)
		if i < 0 {
			return nil, fmt.Errorf("more servers than the %d planned", cap(r.keys.keys))
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// waitAll polls until every client has (present) or lacks (!present) every
// server in idx, or the run's deadline passes.
func (r *run) waitAll(idx []int, present bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, rec := range r.recs {
			if !rec.has(idx, present) {
				all = false
				break
			}
		}
		if all {
			return nil
		}
		select {
		case <-tick.C:
		case <-r.ctx.Done():
			return fmt.Errorf("clients did not converge (%d servers, present=%v): %w", len(idx), present, r.ctx.Err())
		}
	}
}

// latencies returns, over the servers of from (key -> unix ns of the
// event), the time until the last client reflected each (at reads the
// client's time of that server).
func (r *run) latencies(from map[string]int64, at func(*recorder, int) int64) Dist {
	var ds []time.Duration
	for k, t0 := range from {
		if d, ok := r.latency(k, t0, at); ok {
			ds = append(ds, d)
		}
	}
	return newDist(ds)
}

// latency is the time from t0 until the last client's at-time of key;
// false for an unknown key.
func (r *run) latency(key string, t0 int64, at func(*recorder, int) int64) (time.Duration, bool) {
	i := r.keys.lookup(key)
	if i < 0 {
		return 0, false
	}
	last := int64(0)
	for _, rec := range r.recs {
		last = max(last, at(rec, i))
	}
	return time.Duration(last - t0), true
}

// memory takes the heap with every server known to every client.
func (r *run) memory() error {
	full, goroutines := heap()
	known := float64(r.cfg.Clients) * float64(r.cfg.Servers)
	if full > r.res.heapEmpty {
		r.res.BytesPerKnownServer = float64(full-r.res.heapEmpty) / known
	}
	r.res.GoroutinesPerKnownServer = float64(goroutines-r.res.goroutinesEmpty) / known
	var updates int
	for _, rec := range r.recs {
		updates += rec.updateCount()
	}
	r.res.UpdatesPerClient = float64(updates) / float64(len(r.recs))
	return nil
}

// steadyLoad measures the registry's watches and request rate over 5 s with
// every server registered and nothing changing.
func (r *run) steadyLoad() error {
	const window = 5 * time.Second
	before := readStats(r.cfg.Registry, r.cfg.Addrs)
	t := time.NewTimer(window)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	after := readStats(r.cfg.Registry, r.cfg.Addrs)
	r.res.Watches = after.Watches
	r.res.SteadyRate = rate(before, after, window)
	return nil
}

// rate is requests per second between two readings (-1 when unknown).
func rate(a, b registryStats, d time.Duration) float64 {
	if a.Requests < 0 || b.Requests < 0 || d <= 0 {
		return -1
	}
	return float64(b.Requests-a.Requests) / d.Seconds()
}

// singles registers and then deregisters (Stop) one server at a time in
// this process, measuring each change's propagation to every client. Each
// change is measured as soon as every client reflects it: a later single
// may get the same port, hence the same key, as an earlier one.
func (r *run) singles() error {
	cfg := childConfig{Registry: r.cfg.Registry, Addrs: r.cfg.Addrs, Base: r.cfg.Base, Service: service, TTL: r.cfg.TTL}
	var reg, dereg []time.Duration
	for i := 0; i < r.cfg.Singles; i++ {
		h, t0, err := startHosted(cfg)
		if err != nil {
			return err
		}
		idx, err := r.indexOf(map[string]int64{h.key: t0})
		if err == nil {
			err = r.waitAll(idx, true)
		}
		if err != nil {
			h.stop()
			return err
		}
		if d, ok := r.latency(h.key, t0, (*recorder).seenAt); ok {
			reg = append(reg, d)
		}
		t1 := time.Now().UnixNano()
		h.stop()
		if err := r.waitAll(idx, false); err != nil {
			return err
		}
		if d, ok := r.latency(h.key, t1, (*recorder).goneAt); ok {
			dereg = append(dereg, d)
		}
	}
	r.res.Single = newDist(reg)
	r.res.Deregister = newDist(dereg)
	return nil
}

// killOne SIGKILLs the first child and measures until every client has
// dropped every server it hosted (their entries expire with the TTL).
func (r *run) killOne() error {
	c := r.children[0]
	keys, _ := c.registered()
	t0 := time.Now().UnixNano()
	c.kill()
	killed := make(map[string]int64, len(keys))
	for _, k := range keys {
		killed[k] = t0
	}
	idx, err := r.indexOf(killed)
	if err != nil {
		return err
	}
	if err := r.waitAll(idx, false); err != nil {
		return err
	}
	r.res.Killed = len(keys)
	r.res.Kill = r.latencies(killed, (*recorder).goneAt)
	return nil
}

// calls makes one call through every client to check the selections work.
func (r *run) calls() error {
	for i, x := range r.xcs {
		ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
		var reply testutils.Reply
		err := x.Call(ctx, "Mul", &testutils.Args{A: 6, B: 7}, &reply)
		cancel()
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		if reply.C != 42 {
			return fmt.Errorf("client %d: 6*7 = %d", i, reply.C)
		}
	}
	return nil
}

// cleanup stops the children (killing them after 15 s) and the clients.
func (r *run) cleanup() {
	for _, c := range r.children {
		c.stop(15 * time.Second)
	}
	for _, x := range r.xcs {
		x.Close()
	}
	for _, d := range r.ds {
		d.Close()
	}
}
