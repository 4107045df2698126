package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestConsecCircuitBreaker(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	cb := NewConsecCircuitBreaker(3, time.Minute)
	cb.now = clk.now
	fail := errors.New("fail")
	for i := 0; i < 2; i++ {
		if err := cb.Call(func() error { return fail }, 0); err != fail {
			t.Fatal(err)
		}
	}
	cb.Success() // resets the count
	for i := 0; i < 3; i++ {
		_ = cb.Call(func() error { return fail }, 0)
	}
	if cb.Ready() {
		t.Fatal("ready after 3 consecutive failures")
	}
	ran := false
	if err := cb.Call(func() error { ran = true; return nil }, 0); !errors.Is(err, ErrBreakerOpen) || ran {
		t.Fatalf("open breaker: %v ran=%v", err, ran)
	}
	clk.add(time.Minute) // half-open
	if !cb.Ready() {
		t.Fatal("not half-open after the window")
	}
	_ = cb.Call(func() error { return fail }, 0) // failed probe reopens
	if cb.Ready() {
		t.Fatal("failed probe did not reopen")
	}
	clk.add(time.Minute)
	if err := cb.Call(func() error { return nil }, 0); err != nil || !cb.Ready() {
		t.Fatalf("successful probe: %v ready=%v", err, cb.Ready())
	}
	release := make(chan struct{})
	if err := cb.Call(func() error { <-release; return nil }, time.Millisecond); !errors.Is(err, ErrBreakerTimeout) {
		t.Fatalf("timeout: %v", err)
	}
	close(release)
	if NewConsecCircuitBreaker(0, 0).threshold != 1 {
		t.Fatal("threshold 0")
	}
	if CircuitBreaker == nil || !CircuitBreaker.Ready() {
		t.Fatal("CircuitBreaker")
	}
}

// countingBreaker is a custom Breaker that counts its invocations.
type countingBreaker struct {
	calls, fails, successes atomic.Int64
	open                    atomic.Bool
}

func (b *countingBreaker) Call(fn func() error, d time.Duration) error {
	b.calls.Add(1)
	if b.open.Load() {
		return errors.New("custom breaker refuses")
	}
	err := fn()
	if err != nil {
		b.Fail()
	} else {
		b.Success()
	}
	return err
}
func (b *countingBreaker) Fail()       { b.fails.Add(1) }
func (b *countingBreaker) Success()    { b.successes.Add(1) }
func (b *countingBreaker) Ready() bool { return !b.open.Load() }

// TestBreakerInXClient is scenario 19: a server failing K times in a row is
// taken out of selection, the call reports ErrBreakerOpen when nothing else
// is usable, the half-open probe closes it again, and a custom breaker is
// invoked on every attempt.
func TestBreakerInXClient(t *testing.T) {
	t.Run("consec", func(t *testing.T) {
		f := newFakeNet(2)
		f.get(0).setBehaviour(closeMidCall)
		opt := DefaultOption
		opt.Retries = 0
		opt.GenBreaker = func() Breaker { return NewConsecCircuitBreaker(2, 50*time.Millisecond) }
		x, _ := newFakeXClient(t, f, Failfast, RoundRobin, opt)
		var reply int
		for i := 0; i < 10; i++ {
			_ = x.Call(t.Context(), "Mul", 1, &reply)
		}
		if h := f.get(0).hits.Load(); h != 2 {
			t.Fatalf("failing server hit %d times, want 2 before its breaker opened", h)
		}
		// Only the open server left: ErrBreakerOpen.
		f.get(1).setBehaviour(closeMidCall)
		for i := 0; i < 4; i++ {
			_ = x.Call(t.Context(), "Mul", 1, &reply)
		}
		err := x.Call(t.Context(), "Mul", 1, &reply)
		if !errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("err = %v, want ErrBreakerOpen", err)
		}
		// Recovery: after the window the probe succeeds and the breaker closes.
		f.get(0).setBehaviour(answerID)
		f.get(1).setBehaviour(answerID)
		pollUntil(t, 2*time.Second, "half-open", func() bool { return x.cache.usable(f.get(0).key) == nil })
		for i := 0; i < 20; i++ {
			if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		}
	})
	t.Run("custom", func(t *testing.T) {
		f := newFakeNet(1)
		f.get(0).setBehaviour(serviceFailure)
		b := &countingBreaker{}
		opt := DefaultOption
		opt.Retries = 0
		opt.GenBreaker = func() Breaker { return b }
		x, _ := newFakeXClient(t, f, Failover, RandomSelect, opt)
		var reply int
		for i := 0; i < 5; i++ {
			_ = x.Call(t.Context(), "Mul", 1, &reply)
		}
		if b.calls.Load() != 5 {
			t.Fatalf("custom breaker invoked %d times, want 5", b.calls.Load())
		}
		if b.fails.Load() != 0 {
			t.Fatal("service errors counted as breaker failures")
		}
		b.open.Store(true)
		if err := x.Call(context.Background(), "Mul", 1, &reply); !errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("custom open: %v", err)
		}
	})
}

// The openCounter around a breaker tells of each opening once and of the
// breaker letting calls through again, and counts the openings.
func TestBreakerStateNotify(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	cb := NewConsecCircuitBreaker(2, time.Second)
	cb.now = clk.now
	var opens atomic.Uint64
	var got []bool
	oc := &openCounter{Breaker: cb, opens: &opens, notify: func(open bool) { got = append(got, open) }}
	fail := func() error { return errors.New("down") }
	_ = oc.Call(fail, 0)
	_ = oc.Call(fail, 0) // opens
	if err := oc.Call(fail, 0); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("open breaker: %v", err)
	}
	oc.Fail() // still open: no second notice
	clk.add(2 * time.Second)
	if err := oc.Call(func() error { return nil }, 0); err != nil { // half-open trial succeeds
		t.Fatal(err)
	}
	if want := []bool{true, false}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("notices %v, want %v", got, want)
	}
	if opens.Load() != 1 {
		t.Fatalf("%d openings counted, want 1", opens.Load())
	}
}
