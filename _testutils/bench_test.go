package testutils_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	tu "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// benchServer serves Arith (reflection-registered) and a typed Mul over
// loopback TCP and returns a connected client.
func benchServer(b *testing.B) *client.Client {
	b.Helper()
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(tu.Arith), ""); err != nil {
		b.Fatal(err)
	}
	if err := server.Handle(s, "Typed", "Mul", func(ctx context.Context, a *tu.Args, r *tu.Reply) error {
		r.C = a.A * a.B
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.ServeListener("tcp", ln)
	b.Cleanup(func() { s.Close() })
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", ln.Addr().String()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkCall measures a full Call (client encode, TCP, server decode,
// handler, reply) with 1, 100 and 1,000 concurrent callers on one
// connection. Allocations are those of client and server together.
func BenchmarkCall(b *testing.B) {
	for _, tc := range []struct {
		name    string
		service string
		callers int
	}{
		{"reflect/c=1", "Arith", 1}, {"reflect/c=100", "Arith", 100}, {"reflect/c=1000", "Arith", 1000},
		{"typed/c=1", "Typed", 1}, {"typed/c=100", "Typed", 100}, {"typed/c=1000", "Typed", 1000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := benchServer(b)
			ctx := context.Background()
			var failed atomic.Int64
			b.ReportAllocs()
			b.SetParallelism((tc.callers + 1) / 2) // GOMAXPROCS is 2 here; RunParallel starts parallelism×GOMAXPROCS callers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				args, reply := &tu.Args{A: 6, B: 7}, &tu.Reply{}
				for pb.Next() {
					if err := c.Call(ctx, tc.service, "Mul", args, reply); err != nil || reply.C != 42 {
						failed.Add(1)
					}
				}
			})
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d calls failed", n)
			}
		})
	}
}
