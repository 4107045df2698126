// Command failtry shows the Failtry fail mode: a failed call is retried on
// the same server, up to Option.Retries more times. The server closes the
// connection of the first two attempts of every call.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/failtry
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/examples/internal/demo"
	"github.com/courier-rpc/courier/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "failtry:", err)
		os.Exit(1)
	}
}

func run() error {
	var attempts atomic.Int64
	s := server.NewServer()
	// The handler fails at the connection level: it closes the connection
	// it was called on for attempts 1 and 2 of each call.
	if err := s.RegisterFunctionName("Flaky", "Mul", func(ctx context.Context, args *demo.Args, reply *demo.Reply) error {
		if attempts.Add(1)%3 != 0 {
			if c, ok := ctx.Value(server.RemoteConnContextKey).(net.Conn); ok {
				c.Close()
			}
			return nil
		}
		reply.C = args.A * args.B
		reply.From = "flaky"
		return nil
	}, ""); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	defer s.Close()

	d, err := client.NewPeer2PeerDiscovery("tcp@"+ln.Addr().String(), "")
	if err != nil {
		return err
	}
	defer d.Close()
	opt := client.DefaultOption
	opt.Retries = 3
	xclient := client.NewXClient("Flaky", client.Failtry, client.RandomSelect, d, opt)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		before := attempts.Load()
		reply := &demo.Reply{}
		if err := xclient.Call(ctx, "Mul", &demo.Args{A: i, B: 10}, reply); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		fmt.Printf("call %d: %d * 10 = %d after %d attempts on the same server\n", i, i, reply.C, attempts.Load()-before)
	}
	return nil
}
