// Command ratelimit shows request rate limiting with
// ReqRateLimitingPlugin (token buckets of github.com/juju/ratelimit): a
// bucket of 2 tokens refilled every 100ms. Without block, calls past the
// limit get the error "request reached rate limit" at once; with block,
// they wait for their token. It needs no external service:
//
//	go run ./examples/plugins/ratelimit
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith int

// Mul multiplies.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ratelimit:", err)
		os.Exit(1)
	}
}

func run() error {
	for _, block := range []bool{false, true} {
		if err := demo(block); err != nil {
			return err
		}
	}
	return nil
}

// demo makes 5 quick calls to a server limited to 2 requests and then one
// per 100ms.
func demo(block bool) error {
	s := server.NewServer()
	s.Plugins.Add(serverplugin.NewReqRateLimitingPlugin(100*time.Millisecond, 2, block))
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	defer s.Close()

	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", ln.Addr().String()); err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Printf("block=%v:\n", block)
	start := time.Now()
	for i := 1; i <= 5; i++ {
		reply := &Reply{}
		err := c.Call(ctx, "Arith", "Mul", &Args{A: i, B: 10}, reply)
		at := time.Since(start).Round(50 * time.Millisecond)
		if err != nil {
			fmt.Printf("  call %d at ~%v: %v\n", i, at, err)
			continue
		}
		fmt.Printf("  call %d at ~%v: %d * 10 = %d\n", i, at, i, reply.C)
	}
	return nil
}
