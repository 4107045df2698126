package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// liveInterval is how often the live line is redrawn on a terminal.
const liveInterval = 200 * time.Millisecond

// startProgress reports the run on w until the returned stop is called:
// mode "live" redraws one line in place (a terminal), "plain" prints a
// line every interval, "none" prints nothing. stop waits for the last
// report and, for a live line, clears it.
func startProgress(b *bencher, mode string, interval time.Duration, w io.Writer) (stop func()) {
	if mode == "none" {
		return func() {}
	}
	if mode == "live" {
		interval = liveInterval
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		var lastCalls int64
		last := time.Now()
		for {
			select {
			case <-done:
				if mode == "live" {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-t.C:
				calls := b.calls.Load()
				rate := float64(calls-lastCalls) / now.Sub(last).Seconds()
				lastCalls, last = calls, now
				line := progressLine(b, calls, rate)
				if mode == "live" {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

func progressLine(b *bencher, calls int64, rate float64) string {
	start := b.start.Load()
	if start == 0 {
		return "warming up..."
	}
	h, _ := b.snapshot()
	return fmt.Sprintf("%6.1fs  calls %d  rate %.0f/s  errors %d  p50 %s  p99 %s",
		time.Since(time.Unix(0, start)).Seconds(), calls, rate, b.errors.Load(),
		dur(h.ValueAtPercentile(50)), dur(h.ValueAtPercentile(99)))
}
