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

// pool runs tasks of type T with run on reused goroutines. A task goes to
// a parked worker through an unbuffered channel, or to a new worker when
// none is parked.
type pool[T any] struct {
	run      func(T)
	tasks    chan T
	slots    chan struct{} // nil: unbounded
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.RWMutex // guards stopped against wg.Add after Wait
	stopped  bool
	wg       sync.WaitGroup
	idleTime time.Duration
}

func newPool[T any](maxWorkers int, run func(T), options ...PoolOption) *pool[T] {
	cfg := poolConfig{idle: DefaultPoolIdleTimeout}
	for _, o := range options {
		o(&cfg)
	}
	p := &pool[T]{run: run, tasks: make(chan T), stop: make(chan struct{}), idleTime: cfg.idle}
	if maxWorkers > 0 {
		p.slots = make(chan struct{}, maxWorkers)
	}
	return p
}

// submit runs t on a parked worker or a new one, first waiting for a slot
// in a bounded pool. It reports false when the pool is stopped.
func (p *pool[T]) submit(t T) bool {
	if p.slots != nil {
		select {
		case p.slots <- struct{}{}:
		case <-p.stop:
			return false
		}
	}
	select {
	case p.tasks <- t:
		return true
	case <-p.stop:
		p.release()
		return false
	default:
	}
	p.mu.RLock()
	if p.stopped {
		p.mu.RUnlock()
		p.release()
		return false
	}
	p.wg.Add(1)
	p.mu.RUnlock()
	go p.worker(t)
	return true
}

func (p *pool[T]) halt() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopped = true
		close(p.stop)
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

// worker runs t, then waits for more tasks. It exits when a whole idle
// period passed without a task (so after one to two periods of idleness);
// the timer is re-armed only when it fires, not after every task, which
// keeps timer locking off the request path.
func (p *pool[T]) worker(t T) {
	defer p.wg.Done()
	timer := time.NewTimer(p.idleTime)
	defer timer.Stop()
	for {
		p.runOne(t)
		worked := true
	wait:
		for {
			select {
			case t = <-p.tasks:
				break wait
			case <-timer.C:
				if !worked {
					return
				}
				worked = false
				timer.Reset(p.idleTime)
			case <-p.stop:
				return
			}
		}
	}
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
