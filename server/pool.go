package server

import (
	"context"
	"sync"
	"time"
)

// WorkerPool runs handler tasks. Custom pools (WithCustomPool) must be safe
// for concurrent use; Submit may block when the pool is full.
type WorkerPool interface {
	Submit(task func())
	StopAndWaitFor(deadline time.Duration)
	Stop() context.Context
	StopAndWait()
}

// PoolOption configures a pool made by WithPool or NewWorkerPool.
type PoolOption func(*poolConfig)

type poolConfig struct {
	idle time.Duration
}

// DefaultPoolIdleTimeout is how long an idle worker waits for a task
// before it exits.
const DefaultPoolIdleTimeout = 10 * time.Second

// PoolIdleTimeout sets how long an idle worker waits for a task before it
// exits. Default DefaultPoolIdleTimeout (10s).
func PoolIdleTimeout(d time.Duration) PoolOption {
	return func(c *poolConfig) {
		if d > 0 {
			c.idle = d
		}
	}
}

// NewWorkerPool returns a WorkerPool of long-lived goroutines: a worker
// that finishes a task waits for the next one (keeping its grown stack)
// and exits after an idle period. maxWorkers <= 0 means no bound;
// otherwise at most maxWorkers tasks run at once and Submit blocks while
// all of them are busy. maxCapacity is accepted for rpcx compatibility: the
// server submits from each connection's reader, so at most one task per
// connection waits.
func NewWorkerPool(maxWorkers, maxCapacity int, options ...PoolOption) WorkerPool {
	return newPool(maxWorkers, func(f func()) { f() }, options...)
}

// pool runs tasks of type T with run on reused goroutines. Idle workers
// wait on their own channel in a LIFO stack: a task goes to the worker
// that parked last (its stack and caches are warm) with one plain channel
// send, or to a new worker when none is parked. A janitor goroutine, alive
// while workers are, ticks every second (or idle period, if shorter): it
// stops the workers idle for a whole idle period, and the idle workers
// beyond the largest number busy at once during the last tick (keeping
// minSpare), so that after a burst the pool shrinks back within about two
// seconds. No worker waits in a select or on a timer between tasks.
type pool[T any] struct {
	run      func(T)
	slots    chan struct{} // nil: unbounded
	stop     chan struct{}
	stopOnce sync.Once
	idleTime time.Duration

	mu      sync.Mutex
	idle    []*poolWorker[T] // parked workers, most recently parked last
	stopped bool
	epoch   uint64 // janitor ticks; a worker parked in an older epoch is idle
	janitor bool   // the janitor goroutine runs
	live    int    // workers not yet told to exit by the janitor
	peak    int    // most workers busy at once since the last tick
	wg      sync.WaitGroup
}

// poolWorker is one parked or running worker.
type poolWorker[T any] struct {
	tasks  chan T // capacity 1: a send never blocks
	parked uint64 // the pool's epoch when it last parked
}

func newPool[T any](maxWorkers int, run func(T), options ...PoolOption) *pool[T] {
	cfg := poolConfig{idle: DefaultPoolIdleTimeout}
	for _, o := range options {
		o(&cfg)
	}
	p := &pool[T]{run: run, stop: make(chan struct{}), idleTime: cfg.idle}
	if maxWorkers > 0 {
		p.slots = make(chan struct{}, maxWorkers)
	}
	return p
}

// submit runs t on the last parked worker or a new one, first waiting for
// a slot in a bounded pool. It reports false when the pool is stopped.
func (p *pool[T]) submit(t T) bool {
	if p.slots != nil {
		select {
		case p.slots <- struct{}{}:
		case <-p.stop:
			return false
		}
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		p.release()
		return false
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.peak = max(p.peak, p.live-len(p.idle))
		p.mu.Unlock()
		w.tasks <- t
		return true
	}
	p.wg.Add(1)
	p.live++
	p.peak = max(p.peak, p.live-len(p.idle))
	if !p.janitor {
		p.janitor = true
		p.wg.Add(1)
		go p.sweep()
	}
	p.mu.Unlock()
	go p.worker(&poolWorker[T]{tasks: make(chan T, 1)}, t)
	return true
}

func (p *pool[T]) halt() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopped = true
		close(p.stop)
		for i, w := range p.idle {
			close(w.tasks)
			p.idle[i] = nil
		}
		p.idle = nil
		p.mu.Unlock()
	})
}

func (p *pool[T]) release() {
	if p.slots != nil {
		<-p.slots
	}
}

func (p *pool[T]) runOne(t T) {
	defer p.release()
	p.run(t)
}

// worker runs t, parks, and runs what it is given until its channel is
// closed (by the janitor or by halt).
func (p *pool[T]) worker(w *poolWorker[T], t T) {
	defer p.wg.Done()
	for {
		p.runOne(t)
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return
		}
		w.parked = p.epoch
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		var ok bool
		if t, ok = <-w.tasks; !ok {
			return
		}
	}
}

// minSpare is how many idle workers the janitor keeps after a burst
// (those idle for a whole idle period still exit).
const minSpare = 16

// janitorTick is the janitor's period: one second, or the idle period if
// shorter.
func (p *pool[T]) janitorTick() time.Duration { return min(p.idleTime, time.Second) }

// sweep is the janitor: every tick it stops, oldest first, the workers
// idle for a whole idle period and the idle ones beyond what the last
// tick's peak needs. It exits, with the last worker, when none is left,
// and on stop.
func (p *pool[T]) sweep() {
	defer p.wg.Done()
	tick := time.NewTicker(p.janitorTick())
	defer tick.Stop()
	idleTicks := uint64((p.idleTime + p.janitorTick() - 1) / p.janitorTick())
	for {
		select {
		case <-tick.C:
		case <-p.stop:
			return
		}
		if !p.trim(idleTicks) {
			return
		}
	}
}

// trim is one janitor tick; it reports false when the janitor must exit
// (no worker left).
func (p *pool[T]) trim(idleTicks uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch++
	keep := max(p.peak, minSpare)
	n := 0
	for n < len(p.idle) && (p.idle[n].parked+idleTicks < p.epoch || len(p.idle)-n > keep) {
		close(p.idle[n].tasks)
		n++
	}
	p.live -= n
	if n > 0 {
		k := copy(p.idle, p.idle[n:])
		clear(p.idle[k:])
		p.idle = p.idle[:k]
	}
	p.peak = p.live - len(p.idle)
	// When no worker is left the janitor goes too; the next new worker
	// starts it again.
	if p.live == 0 {
		p.janitor = false
		return false
	}
	return true
}

// Submit runs task on the pool; after Stop the task is dropped.
func (p *pool[T]) Submit(task T) { p.submit(task) }

// Stop stops the pool: idle workers exit, busy ones after their task. The
// returned context is done when all workers have exited.
func (p *pool[T]) Stop() context.Context {
	p.halt()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		p.wg.Wait()
		cancel()
	}()
	return ctx
}

// StopAndWait stops the pool and waits for all workers to exit.
func (p *pool[T]) StopAndWait() {
	p.halt()
	p.wg.Wait()
}

// StopAndWaitFor stops the pool and waits at most d for workers to exit.
func (p *pool[T]) StopAndWaitFor(d time.Duration) {
	p.halt()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
