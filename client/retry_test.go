package client

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-rpc/courier/share"
)

func TestRetryBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewRetryBudget(0.2, 1, 10*time.Second) // 20 % + 10 per window
		for range 100 {
			b.Deposit()
		}
		allowed := 0
		for b.TryWithdraw() {
			allowed++
		}
		if allowed != 30 || b.Refused() != 1 {
			t.Fatalf("allowed %d refused %d, want 30 and 1", allowed, b.Refused())
		}
		time.Sleep(11 * time.Second) // the window moves on: only the floor is left
		allowed = 0
		for b.TryWithdraw() {
			allowed++
		}
		if allowed != 10 {
			t.Fatalf("after the window: allowed %d, want 10", allowed)
		}
		if NewRetryBudget(0, 0, 0).TryWithdraw() {
			t.Fatal("an empty budget allowed an extra attempt")
		}
	})
}

// TestRetryBudgetDepositAfterPause checks the bound of Deposit's sparse
// clock reads: after a pause longer than the window, of the calls made
// since, at most depositClockEvery are counted too early (and leave the
// window), never more, and none is counted late.
func TestRetryBudgetDepositAfterPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewRetryBudget(1, 0, 10*time.Second) // one extra attempt per call, no floor
		for range 50 {
			b.Deposit()
		}
		time.Sleep(25 * time.Second) // the 50 calls leave the window
		const n = 100
		for range n {
			b.Deposit()
		}
		allowed := 0
		for b.TryWithdraw() {
			allowed++
		}
		if allowed < n-depositClockEvery || allowed > n {
			t.Fatalf("after the pause: allowed %d, want between %d and %d", allowed, n-depositClockEvery, n)
		}
		time.Sleep(11 * time.Second) // and these leave it too: none is counted late
		if b.TryWithdraw() {
			t.Fatal("calls older than the window still counted")
		}
	})
}

func TestExponentialBackoff(t *testing.T) {
	bo := ExponentialBackoff(10*time.Millisecond, 50*time.Millisecond)
	for n := 1; n <= 40; n++ {
		limit := min(10*time.Millisecond<<min(n-1, 10), 50*time.Millisecond)
		for range 20 {
			if d := bo(n); d < 0 || d >= limit {
				t.Fatalf("retry %d: pause %v outside [0, %v)", n, d, limit)
			}
		}
	}
	if d := ExponentialBackoff(0, time.Second)(1); d != 0 {
		t.Fatalf("zero base: %v", d)
	}
}

func TestProvablyNotRun(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&notRunError{errRefused}, true},
		{fmt.Errorf("x: %w", &notRunError{ErrShutdown}), true},
		{&drainError{msg: "bye"}, true},
		{ErrDraining, true},
		{fmt.Errorf("%w: k", ErrBreakerOpen), true},
		{fmt.Errorf("%w: k", ErrServerUnavailable), true},
		{&codedError{msg: "busy", code: share.CodeOverloaded}, true},
		{&codedError{msg: "down", code: share.CodeUnavailable}, false},
		{fmt.Errorf("%w: reset", ErrShutdown), false},
		{context.DeadlineExceeded, false},
		{NewServiceError("boom"), false},
	}
	for _, tt := range tests {
		if got := ProvablyNotRun(tt.err); got != tt.want {
			t.Errorf("ProvablyNotRun(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// overloaded answers like a server over its concurrency limit.
func overloaded(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
	return &codedError{msg: "server is overloaded", code: share.CodeOverloaded}
}

// TestTransparentRetryEveryMode checks that a call that provably did not
// run (dial refused, overloaded, draining) is retried once on another
// server even by Failfast, and that the retry is counted.
func TestTransparentRetryEveryMode(t *testing.T) {
	for _, fm := range FailModeValues() {
		for name, setup := range map[string]func(*fakeServer){
			"refused":    func(s *fakeServer) { s.refuse.Store(true) },
			"overloaded": func(s *fakeServer) { s.setBehaviour(overloaded) },
			"draining":   func(s *fakeServer) { s.setBehaviour(draining) },
		} {
			t.Run(fm.String()+"/"+name, func(t *testing.T) {
				f := newFakeNet(2)
				setup(f.get(0))
				opt := DefaultOption
				opt.Retries = 0
				opt.BackupLatency = time.Hour
				x, _ := newFakeXClient(t, f, fm, RoundRobin, opt)
				for i := range 4 {
					var reply int
					if err := x.Call(t.Context(), "Mul", i, &reply); err != nil || reply != 1 {
						t.Fatalf("call %d: reply %d err %v, want server 1", i, reply, err)
					}
				}
				if st := x.Stats(); st.TransparentRetries == 0 || st.Calls != 4 {
					t.Fatalf("stats %+v: want transparent retries", st)
				}
			})
		}
	}
}

// TestNonIdempotentNeverSentTwice checks that a method declared
// non-idempotent, on the client or by the server's metadata, is sent once
// when the attempt may have run (the connection died mid-call), in every
// fail mode, while an idempotent method fails over.
func TestNonIdempotentNeverSentTwice(t *testing.T) {
	for _, fm := range FailModeValues() {
		for _, how := range []string{"option", "server metadata"} {
			t.Run(fm.String()+"/"+how, func(t *testing.T) {
				f := newFakeNet(3)
				for i := range 3 {
					f.get(i).setBehaviour(closeMidCall)
				}
				opt := DefaultOption
				opt.BackupLatency = time.Millisecond
				meta := []string{"", "", ""}
				if how == "option" {
					opt.NonIdempotent = []string{"Mul"}
				} else {
					meta[1] = share.NonIdempotentMetaKey + "=Mul,Other"
				}
				x, _ := newFakeXClient(t, f, fm, RoundRobin, opt, f.pairs(meta...)...)
				var reply int
				if err := x.Call(t.Context(), "Mul", 1, &reply); !errors.Is(err, ErrShutdown) {
					t.Fatalf("err %v, want ErrShutdown", err)
				}
				if n := f.totalHits(); n != 1 {
					t.Fatalf("non-idempotent method sent %d times", n)
				}
				if x.Stats().NonIdempotentStops != 1 {
					t.Fatalf("stats %+v", x.Stats())
				}
				if fm == Failfast {
					return
				}
				_ = x.Call(t.Context(), "Div", 1, &reply)
				if n := f.totalHits(); n < 3 {
					t.Fatalf("idempotent method: %d attempts in all, want retries", n)
				}
			})
		}
	}
}

// TestBudgetStopsRetryStorm checks that with every server failing, the
// budget caps the extra attempts and counts its refusals.
func TestBudgetStopsRetryStorm(t *testing.T) {
	f := newFakeNet(3)
	for i := range 3 {
		f.get(i).setBehaviour(closeMidCall)
	}
	opt := DefaultOption
	opt.Retries = 3
	opt.Outlier.Disabled = true
	opt.RetryBudget = NewRetryBudget(0.1, 0, time.Minute)
	x, _ := newFakeXClient(t, f, Failover, RoundRobin, opt)
	const calls = 200
	for i := range calls {
		var reply int
		_ = x.Call(t.Context(), "Mul", i, &reply)
	}
	st := x.Stats()
	if st.Attempts > calls*11/10+1 || st.BudgetExhausted == 0 {
		t.Fatalf("%d attempts for %d calls (budget refused %d), want <= 1.1x", st.Attempts, calls, st.BudgetExhausted)
	}
	if h := f.totalHits(); h > int64(st.Attempts) {
		t.Fatalf("servers saw %d, stats say %d attempts", h, st.Attempts)
	}
}

// TestPauseNeverPastDeadline checks that a backoff longer than the time
// left ends the call at once with the last error.
func TestPauseNeverPastDeadline(t *testing.T) {
	f := newFakeNet(2)
	f.get(0).setBehaviour(closeMidCall)
	f.get(1).setBehaviour(closeMidCall)
	opt := DefaultOption
	opt.Backoff = func(int) time.Duration { return time.Hour }
	x, _ := newFakeXClient(t, f, Failover, RoundRobin, opt)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	var reply int
	if err := x.Call(ctx, "Mul", 1, &reply); !errors.Is(err, ErrShutdown) {
		t.Fatalf("err %v, want the last attempt's error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("call took %v", d)
	}
	if n := f.totalHits(); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

// TestHedgesUpToN checks the generalised Failbackup: with every server
// slow it sends at most Hedges extra requests, one per delay, and the
// first answer wins.
func TestHedgesUpToN(t *testing.T) {
	f := newFakeNet(4)
	// Every server holds its answer until the third request arrived, so the
	// call ends only after both hedges went out, however late their timers
	// fire on a loaded machine (with servers answering after 200 ms, a
	// first answer could beat them).
	var arrived atomic.Int64
	third := make(chan struct{})
	for i := range 4 {
		f.get(i).setBehaviour(func(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
			if arrived.Add(1) == 3 {
				close(third)
			}
			select {
			case <-third:
				return answerID(ctx, c, method, args, reply)
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	opt := DefaultOption
	opt.Hedges = 2
	opt.BackupLatency = 5 * time.Millisecond
	x, _ := newFakeXClient(t, f, Failbackup, RoundRobin, opt)
	var reply int
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fewer hedges: no answer
	defer cancel()
	if err := x.Call(ctx, "Mul", 1, &reply); err != nil {
		t.Fatalf("%v after %d requests, %d hedges", err, f.totalHits(), x.Stats().Hedges)
	}
	if n, st := f.totalHits(), x.Stats(); n != 3 || st.Hedges != 2 {
		t.Fatalf("%d requests, %d hedges; want 3 and 2", n, st.Hedges)
	}
	for i := range 4 {
		f.get(i).setBehaviour(slow(200 * time.Millisecond))
	}
	opt.NonIdempotent = []string{"Mul"}
	y, _ := newFakeXClient(t, f, Failbackup, RoundRobin, opt)
	before := f.totalHits()
	if err := y.Call(t.Context(), "Mul", 1, &reply); err != nil {
		t.Fatal(err)
	}
	if n := f.totalHits() - before; n != 1 {
		t.Fatalf("non-idempotent method hedged: %d requests", n)
	}
}

func TestHedgeQuantileDelay(t *testing.T) {
	var w latencyWindow
	if _, ok := w.quantile(0.95); ok {
		t.Fatal("quantile before 32 samples")
	}
	for i := 1; i <= 100; i++ {
		w.add(time.Duration(i) * time.Millisecond)
	}
	if d, ok := w.quantile(0.95); !ok || d < 90*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("p95 of 1..100ms = %v", d)
	}
}
