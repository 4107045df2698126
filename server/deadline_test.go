package server

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/share"
)

// newDeadlineCtx is a request ctx with its own deadline d from now.
func newDeadlineCtx(parent context.Context, d time.Duration) *reqCtx {
	rc := &reqCtx{src: &reqSource{ctx: parent}}
	rc.setDeadline(time.Now().Add(d))
	return rc
}

func timerMade(rc *reqCtx) bool {
	m := rc.more.Load()
	return m != nil && m.dl.timed.Load() != nil
}

// wantEnded checks that ctx's Err is want and its Done is closed now.
func wantEnded(t *testing.T, ctx context.Context, want error) {
	t.Helper()
	if err := ctx.Err(); !errors.Is(err, want) {
		t.Fatalf("Err %v, want %v", err, want)
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatalf("Err is %v but Done is open", want)
	}
}

// within waits up to 5 s for ch to close.
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal(what)
	}
}

// A deadline nobody waits on costs no timer, and still reads right.
func TestDeadlineWithoutWaiting(t *testing.T) {
	rc := newDeadlineCtx(context.Background(), time.Hour)
	if dl, ok := rc.Deadline(); !ok || time.Until(dl) < 59*time.Minute {
		t.Fatalf("Deadline %v %v", dl, ok)
	}
	if err := rc.Err(); err != nil {
		t.Fatalf("Err before the deadline: %v", err)
	}
	if timerMade(rc) {
		t.Fatal("Deadline and Err made a timer")
	}
	rc.endDeadline()
	wantEnded(t, rc, context.Canceled)
}

// Past the deadline Err says so without anyone having called Done, and
// Done is closed with it; the end of the request does not change that.
func TestDeadlinePassedBeforeDone(t *testing.T) {
	rc := newDeadlineCtx(context.Background(), time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	wantEnded(t, rc, context.DeadlineExceeded)
	rc.endDeadline()
	wantEnded(t, rc, context.DeadlineExceeded)
}

// context.Cause sees the deadline (and the end of the request), whether
// or not anything made the timer before.
func TestDeadlineCause(t *testing.T) {
	type key struct{}
	// A cancelable parent, as the connection's ctx is: Cause reads the
	// nearest cancelCtx it finds through Value.
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancel()
	rc := newDeadlineCtx(parent, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	if err := context.Cause(rc); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Cause past the deadline, no timer before: %v", err)
	}
	if rc.Value(key{}) != "v" {
		t.Fatal("the parent's values are lost through the deadline's context")
	}
	rc = newDeadlineCtx(parent, time.Hour)
	if err := context.Cause(rc); err != nil {
		t.Fatalf("Cause before the deadline: %v", err)
	}
	if timerMade(rc) {
		t.Fatal("a Value lookup before the deadline made the timer")
	}
	rc.endDeadline()
	if err := context.Cause(rc); !errors.Is(err, context.Canceled) {
		t.Fatalf("Cause after the request ended: %v", err)
	}
	if rc.Value(key{}) != "v" {
		t.Fatal("parent value lost after the end")
	}
}

// Done, asked for before the deadline, closes at it; every caller gets
// the same channel.
func TestDeadlineDoneCloses(t *testing.T) {
	rc := newDeadlineCtx(context.Background(), 30*time.Millisecond)
	chans := make([]<-chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range chans {
		wg.Go(func() { chans[i] = rc.Done() })
	}
	wg.Wait()
	for _, ch := range chans[1:] {
		if ch != chans[0] {
			t.Fatal("Done returned different channels")
		}
	}
	start := time.Now()
	within(t, chans[0], "Done never closed")
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Fatalf("Done closed after %v, before the deadline", el)
	}
	wantEnded(t, rc, context.DeadlineExceeded)
	rc.endDeadline()
}

// The end of the request cancels a timer made before it, and contexts
// derived from the request's ctx follow it (through AfterFunc, without a
// goroutine of their own).
func TestDeadlineEndCancelsDerived(t *testing.T) {
	rc := newDeadlineCtx(context.Background(), time.Hour)
	before := runtime.NumGoroutine()
	children := make([]context.Context, 50)
	for i := range children {
		var cancel context.CancelFunc
		children[i], cancel = context.WithCancel(rc)
		defer cancel()
	}
	if n := runtime.NumGoroutine() - before; n >= len(children) {
		t.Fatalf("%d derived contexts started %d goroutines", len(children), n)
	}
	if !timerMade(rc) {
		t.Fatal("a derived context did not make the timer")
	}
	rc.endDeadline()
	within(t, children[0].Done(), "derived context not cancelled when the request ended")
	wantEnded(t, children[0], context.Canceled)
	wantEnded(t, rc, context.Canceled)
}

// The parent (the connection's ctx) still cancels the request's ctx, and
// an earlier parent deadline wins.
func TestDeadlineParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	rc := newDeadlineCtx(parent, time.Hour)
	done := rc.Done()
	cancel()
	within(t, done, "parent cancel did not reach the request ctx")
	wantEnded(t, rc, context.Canceled)

	parent, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc = newDeadlineCtx(parent, time.Hour)
	pd, _ := parent.Deadline()
	if dl, ok := rc.Deadline(); !ok || !dl.Equal(pd) {
		t.Fatalf("Deadline %v, want the parent's %v", dl, pd)
	}

	cancelled, stop := context.WithCancel(context.Background())
	stop()
	wantEnded(t, newDeadlineCtx(cancelled, time.Hour), context.Canceled)
}

// Without a deadline of its own the request ctx is its parent's.
func TestNoDeadline(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	rc := &reqCtx{src: &reqSource{ctx: parent}}
	if _, ok := rc.Deadline(); ok {
		t.Fatal("deadline without one")
	}
	if rc.Done() != parent.Done() {
		t.Fatal("Done is not the parent's")
	}
	rc.endDeadline()
	if rc.Err() != nil {
		t.Fatal("endDeadline cancelled a ctx without a deadline")
	}
	fired := make(chan struct{})
	rc.AfterFunc(func() { close(fired) })
	cancel()
	within(t, fired, "AfterFunc did not run on the parent's cancel")
}

// Goroutines that wait on a request's ctx while it ends all get the one
// timer's channel, and it is closed: made by compare-and-swap, without a
// mutex, no second timer wins and the end is never missed.
func TestDeadlineTimerRaces(t *testing.T) {
	for round := 0; round < 200; round++ {
		rc := newDeadlineCtx(context.Background(), time.Hour)
		var wg sync.WaitGroup
		chans := make([]<-chan struct{}, 4)
		for i := range chans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				chans[i] = rc.Done()
			}()
		}
		if round%2 == 0 {
			rc.endDeadline() // before, during or after the waiters make the timer
		}
		wg.Wait()
		if round%2 == 1 {
			rc.endDeadline()
		}
		for i, ch := range chans {
			if ch != chans[0] {
				t.Fatalf("round %d: waiter %d got another channel", round, i)
			}
			within(t, ch, "the request ended but its ctx is not done")
		}
		wantEnded(t, rc, context.Canceled)
	}
}

// Handlers that ask for the response metadata map at once get the same map.
func TestResMetadataOneMap(t *testing.T) {
	rc := &reqCtx{src: &reqSource{ctx: context.Background()}}
	var wg sync.WaitGroup
	maps := make([]map[string]string, 8)
	for i := range maps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := rc.Value(share.ResMetaDataKey).(map[string]string)
			maps[i] = m
		}()
	}
	wg.Wait()
	maps[0]["k"] = "v"
	for i, m := range maps {
		if m["k"] != "v" {
			t.Fatalf("caller %d got another map", i)
		}
	}
	if got := rc.takeResMeta()["k"]; got != "v" {
		t.Fatalf("takeResMeta lost the entry: %q", got)
	}
	if (&reqCtx{}).takeResMeta() != nil {
		t.Fatal("takeResMeta made a map nobody asked for")
	}
}
