package util

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Wait(context.Background(), time.Second); err != nil || time.Since(start) != time.Second {
			t.Fatalf("full wait: %v after %v, want nil after 1s", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start = time.Now()
		if err := Wait(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("cut by ctx: %v after %v, want DeadlineExceeded after 100ms", err, time.Since(start))
		}
		if err := Wait(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("d = 0 on an ended ctx: %v", err)
		}
		if err := Wait(context.Background(), -time.Second); err != nil {
			t.Fatalf("d < 0: %v", err)
		}
	})
}
