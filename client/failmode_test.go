package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestModeStrings(t *testing.T) {
	for _, m := range FailModeValues() {
		got, err := FailModeString(m.String())
		if err != nil || got != m || !m.IsAFailMode() {
			t.Errorf("FailMode %d: %q -> %v, %v", m, m.String(), got, err)
		}
	}
	for _, m := range SelectModeValues() {
		got, err := SelectModeString(m.String())
		if err != nil || got != m || !m.IsASelectMode() {
			t.Errorf("SelectMode %d: %q -> %v, %v", m, m.String(), got, err)
		}
	}
	if Closest != 5 || Failbackup != 3 || SelectModeValues()[4] != ConsistentHash {
		t.Fatal("rpcx constant values changed")
	}
	var sm SelectMode = SelectByUser // untyped constant converts
	if sm.IsASelectMode() || sm.String() != "SelectByUser" {
		t.Errorf("SelectByUser: %v %v", sm.IsASelectMode(), sm)
	}
	if _, err := FailModeString("Failsometimes"); !errors.Is(err, ErrBadMode) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := SelectModeString(""); !errors.Is(err, ErrBadMode) {
		t.Errorf("bad name: %v", err)
	}
	if FailMode(9).String() != "FailMode(9)" || SelectMode(-1).String() != "SelectMode(-1)" {
		t.Error("unknown values")
	}
}

// TestRetryAttempts is scenario 18: Retries=N makes N+1 attempts (counted
// at the servers) for retryable errors, 1 for service errors, for Call and
// Go alike; a refusal that provably did not run (drain) gets one
// transparent attempt more, in every fail mode.
func TestRetryAttempts(t *testing.T) {
	cases := []struct {
		name    string
		fm      FailMode
		retries int
		behave  func(context.Context, *fakeClient, string, interface{}, interface{}) error
		want    int64
	}{
		{"failover/0", Failover, 0, closeMidCall, 1},
		{"failover/3", Failover, 3, closeMidCall, 4},
		{"failtry/2", Failtry, 2, closeMidCall, 3},
		{"failtry/drain", Failtry, 2, draining, 4},
		{"failfast/drain", Failfast, 2, draining, 2},
		{"failfast/3", Failfast, 3, closeMidCall, 1},
		{"failover/service-error", Failover, 3, serviceFailure, 1},
		{"failtry/service-error", Failtry, 3, serviceFailure, 1},
	}
	for _, tc := range cases {
		for _, async := range []bool{false, true} {
			name := tc.name
			if async {
				name += "/go"
			}
			t.Run(name, func(t *testing.T) {
				f := newFakeNet(3)
				for i := 0; i < 3; i++ {
					f.get(i).setBehaviour(tc.behave)
				}
				opt := DefaultOption
				opt.Retries = tc.retries
				x, _ := newFakeXClient(t, f, tc.fm, RoundRobin, opt)
				var reply int
				var err error
				if async {
					call, gerr := x.Go(t.Context(), "Mul", 1, &reply, nil)
					if gerr != nil {
						t.Fatal(gerr)
					}
					err = (<-call.Done).Error
				} else {
					err = x.Call(t.Context(), "Mul", 1, &reply)
				}
				if err == nil {
					t.Fatal("call succeeded")
				}
				if got := f.totalHits(); got != tc.want {
					t.Fatalf("attempts = %d, want %d (err %v)", got, tc.want, err)
				}
			})
		}
	}
}

// TestFailoverMovesOn checks Failover reaches a healthy server and Failtry
// stays on the first one.
func TestFailoverMovesOn(t *testing.T) {
	f := newFakeNet(3)
	f.get(0).setBehaviour(closeMidCall)
	f.get(1).refuse.Store(true)
	opt := DefaultOption
	x, _ := newFakeXClient(t, f, Failover, RoundRobin, opt)
	for i := 0; i < 30; i++ {
		var reply int
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if reply != 2 {
			t.Fatalf("reply from server %d, want 2", reply)
		}
	}

	// Failtry stays on the server it chose first.
	opt.Retries = 2
	ft, _ := newFakeXClient(t, f, Failtry, ConsistentHash, opt)
	arg := 0
	for ; ft.selector.Select(t.Context(), "Arith", "Mul", arg) != f.get(0).key; arg++ {
	}
	before0, before2 := f.get(0).hits.Load(), f.get(2).hits.Load()
	var reply int
	if err := ft.Call(t.Context(), "Mul", arg, &reply); !errors.Is(err, ErrShutdown) {
		t.Fatalf("failtry err = %v", err)
	}
	if d0, d2 := f.get(0).hits.Load()-before0, f.get(2).hits.Load()-before2; d0 != 3 || d2 != 0 {
		t.Fatalf("failtry hits: server0 +%d server2 +%d, want +3 and +0", d0, d2)
	}
}

// TestDeadlineNeverExceeded is scenario 16: with a 200ms ctx against servers
// that hang, every fail mode returns context.DeadlineExceeded in time.
func TestDeadlineNeverExceeded(t *testing.T) {
	for _, fm := range FailModeValues() {
		t.Run(fm.String(), func(t *testing.T) {
			t.Parallel()
			f := newFakeNet(2)
			f.get(0).setBehaviour(hang)
			f.get(1).setBehaviour(slow(time.Second))
			opt := DefaultOption
			opt.Retries = 10
			x, _ := newFakeXClient(t, f, fm, RoundRobin, opt)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			var reply int
			err := x.Call(ctx, "Mul", 1, &reply)
			el := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v", err)
			}
			if el > 450*time.Millisecond { // 200ms + a margin for loaded CI machines

				t.Fatalf("returned after %v", el)
			}
		})
	}
}

// TestFailbackup checks the backup request: a hanging first server is
// backed up after BackupLatency, the backup's reply wins and the first is
// cancelled.
func TestFailbackup(t *testing.T) {
	f := newFakeNet(2)
	cancelled := make(chan struct{})
	f.get(0).setBehaviour(func(ctx context.Context, c *fakeClient, m string, a, r interface{}) error {
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	})
	opt := DefaultOption
	opt.BackupLatency = 5 * time.Millisecond
	x, _ := newFakeXClient(t, f, Failbackup, ConsistentHash, opt)
	// find an argument whose hash lands on server 0
	arg := 0
	for ; arg < 100; arg++ {
		if x.selector.Select(t.Context(), "Arith", "Mul", arg) == f.get(0).key {
			break
		}
	}
	var reply int
	if err := x.Call(t.Context(), "Mul", arg, &reply); err != nil {
		t.Fatal(err)
	}
	if reply != 1 {
		t.Fatalf("reply from %d, want the backup (1)", reply)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("first request not cancelled")
	}
	// A service error of the first server is final: no backup.
	f.get(0).setBehaviour(serviceFailure)
	f.get(1).hits.Store(0)
	if err := x.Call(t.Context(), "Mul", arg, &reply); !IsServiceError(err) {
		t.Fatalf("err = %v", err)
	}
	if f.get(1).hits.Load() != 0 {
		t.Fatal("backup sent after a service error")
	}
}
