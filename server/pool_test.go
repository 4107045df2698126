package server

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func poolLive[T any](p *pool[T]) (live int, janitor bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live, p.janitor
}

func TestPoolReusesWorkers(t *testing.T) {
	done := make(chan struct{})
	p := newPool(0, func(int) { done <- struct{}{} })
	defer p.StopAndWait()
	for i := range 100 {
		if !p.submit(i) {
			t.Fatal("submit refused")
		}
		<-done
		// Let the worker park before the next submit.
		waitFor(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.idle) == 1 })
	}
	if live, _ := poolLive(p); live != 1 {
		t.Fatalf("%d workers for 100 sequential tasks, want 1", live)
	}
}

func TestPoolIdleWorkersExit(t *testing.T) {
	var ran atomic.Int32
	p := newPool(0, func(int) { ran.Add(1) }, PoolIdleTimeout(20*time.Millisecond))
	defer p.StopAndWait()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); p.submit(i) }()
	}
	wg.Wait()
	waitFor(t, func() bool { live, janitor := poolLive(p); return live == 0 && !janitor })
	if ran.Load() != 50 {
		t.Fatalf("ran %d tasks, want 50", ran.Load())
	}
	// The pool starts again after its workers and janitor left.
	if !p.submit(1) {
		t.Fatal("submit refused after idling out")
	}
	waitFor(t, func() bool { return ran.Load() == 51 })
}

func TestPoolBounded(t *testing.T) {
	var running, peak atomic.Int32
	release := make(chan struct{})
	p := newPool(2, func(int) {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-release
		running.Add(-1)
	})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); p.submit(i) }()
	}
	waitFor(t, func() bool { return running.Load() == 2 })
	close(release)
	wg.Wait()
	p.StopAndWait()
	if peak.Load() != 2 {
		t.Fatalf("peak %d tasks at once, want 2", peak.Load())
	}
}

func TestPoolStop(t *testing.T) {
	var ran atomic.Int32
	p := newPool(0, func(done chan struct{}) { ran.Add(1); done <- struct{}{} })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{}, 1)
			for range 500 {
				p.submit(done)
				<-done
			}
		}()
	}
	wg.Wait()
	p.StopAndWait()
	if ran.Load() != 4000 {
		t.Fatalf("ran %d of 4000 tasks", ran.Load())
	}
	if p.submit(make(chan struct{}, 1)) {
		t.Fatal("submit accepted after stop")
	}
}

// TestPoolShrinksAfterBurst checks recovery after overload: a burst of
// 500 concurrent tasks leaves at most minSpare parked workers about two
// janitor ticks after it ends, long before the idle timeout (10s).
func TestPoolShrinksAfterBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p := newPool(0, func(int) { <-release })
		defer p.StopAndWait()
		for i := range 500 {
			p.submit(i)
		}
		synctest.Wait()
		if live, _ := poolLive(p); live != 500 {
			t.Fatalf("%d workers during the burst, want 500", live)
		}
		close(release)
		synctest.Wait()
		time.Sleep(2*time.Second + time.Millisecond) // two janitor ticks of the fake clock
		synctest.Wait()
		if live, _ := poolLive(p); live > minSpare {
			t.Fatalf("%d workers 2s after the burst, want <= %d", live, minSpare)
		}
	})
}
