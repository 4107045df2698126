package client

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkClientCall measures Call against the in-test server over TCP at
// 1, 100 and 1000 concurrent callers sharing one connection.
func BenchmarkClientCall(b *testing.B) {
	for _, callers := range []int{1, 100, 1000} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			s := startRawEcho(b, "tcp")
			c := dialTest(b, s, DefaultOption)
			args := &echoArgs{A: 1, S: "hello"}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Value
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var reply echoArgs
					for next.Add(1) <= int64(b.N) {
						if err := c.Call(ctx, "S", "Echo", args, &reply); err != nil {
							failed.Store(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestClientCallAllocs guards the hot path: at most 10 allocations per
// Call on the client, measured against the allocation-free raw echo server.
func TestClientCallAllocs(t *testing.T) {
	s := startRawEcho(t, "memu")
	c := dialTest(t, s, DefaultOption)
	args := &echoArgs{A: 1, S: "hello"}
	var reply echoArgs
	ctx := context.Background()
	n := testing.AllocsPerRun(500, func() {
		if err := c.Call(ctx, "S", "Echo", args, &reply); err != nil {
			t.Fatal(err)
		}
	})
	// 6 today: msgpack encode (2) and decode (2), the 16-byte header
	// protocol.DecodeLimited allocates per frame, and the reply string.
	t.Logf("allocations per Call: %.1f", n)
	if n > 10 {
		t.Fatalf("%.1f allocations per Call, want <= 10", n)
	}
}
