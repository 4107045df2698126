package client

import (
	"sync"
	"time"

	circuit "github.com/rubyist/circuitbreaker"
)

// CircuitBreaker is rpcx's ready-made rate breaker: it trips when 95% of
// at least 100 samples failed. Note that it is ONE breaker: an Option whose
// GenBreaker returns it shares it between all servers. Prefer a GenBreaker
// that returns a new breaker per call, such as
// func() Breaker { return NewConsecCircuitBreaker(5, 30*time.Second) }.
var CircuitBreaker Breaker = circuit.NewRateBreaker(0.95, 100)

// ConsecCircuitBreaker opens after failureThreshold consecutive failures.
// While open it rejects calls; once window has passed since it opened it is
// half-open and lets calls through: the first success closes it, a failure
// opens it for another window. It is safe for concurrent use.
type ConsecCircuitBreaker struct {
	mu        sync.Mutex
	threshold uint64
	window    time.Duration
	failures  uint64
	openedAt  time.Time
	now       func() time.Time
}

// NewConsecCircuitBreaker returns a closed breaker that opens after
// failureThreshold consecutive failures (0 is taken as 1) and stays open
// for window.
func NewConsecCircuitBreaker(failureThreshold uint64, window time.Duration) *ConsecCircuitBreaker {
	if failureThreshold == 0 {
		failureThreshold = 1
	}
	return &ConsecCircuitBreaker{threshold: failureThreshold, window: window, now: time.Now}
}

// Call runs fn unless the breaker is open (then it returns ErrBreakerOpen
// without running fn) and records the outcome. When d > 0 and fn has not
// returned after d, Call records a failure and returns ErrBreakerTimeout;
// fn keeps running in its goroutine until it returns.
func (cb *ConsecCircuitBreaker) Call(fn func() error, d time.Duration) error {
	if !cb.Ready() {
		return ErrBreakerOpen
	}
	var err error
	if d <= 0 {
		err = fn()
	} else {
		done := make(chan error, 1)
		go func() { done <- fn() }()
		t := time.NewTimer(d)
		select {
		case err = <-done:
			t.Stop()
		case <-t.C:
			err = ErrBreakerTimeout
		}
	}
	if err != nil {
		cb.Fail()
	} else {
		cb.Success()
	}
	return err
}

// Fail records a failure; the threshold-th consecutive one opens the
// breaker (a failure while half-open reopens it).
func (cb *ConsecCircuitBreaker) Fail() {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	cb.failures++
	if cb.failures >= cb.threshold {
		cb.openedAt = cb.now()
	}
}

// Success records a success and closes the breaker.
func (cb *ConsecCircuitBreaker) Success() {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	cb.failures = 0
	cb.openedAt = time.Time{}
}

// Ready reports whether a call may go through: the breaker is closed, or
// open for at least window (half-open).
func (cb *ConsecCircuitBreaker) Ready() bool {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.failures < cb.threshold || cb.now().Sub(cb.openedAt) >= cb.window
}
