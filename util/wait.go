package util

import (
	"context"
	"time"
)

// Wait pauses for d or until ctx is done, whichever comes first. It returns
// nil when d has passed and ctx.Err() when ctx ended first; with d <= 0 it
// returns ctx.Err() at once. Its timer is released before it returns; it
// is safe for concurrent use.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
