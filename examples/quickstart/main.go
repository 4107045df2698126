// Command quickstart is the guide's first program in one process: it
// registers an Arith service on a courier server, calls it through an
// XClient with peer-to-peer discovery, synchronously and asynchronously,
// then shuts the server down gracefully. It needs no external service:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// Args are the arguments of Arith.Mul.
type Args struct {
	A int
	B int
}

// Reply is the result of Arith.Mul.
type Reply struct {
	C int
}

// Arith is the service: its exported methods of the rpcx shape are callable.
type Arith int

// Mul multiplies.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	// The server: register the service and serve on a free loopback port.
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)

	// The client: peer-to-peer discovery, fail over, random selection.
	d, err := client.NewPeer2PeerDiscovery("tcp@"+ln.Addr().String(), "")
	if err != nil {
		return err
	}
	xclient := client.NewXClient("Arith", client.Failover, client.RandomSelect, d, client.DefaultOption)
	defer xclient.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A synchronous call.
	reply := &Reply{}
	if err := xclient.Call(ctx, "Mul", &Args{A: 10, B: 20}, reply); err != nil {
		return fmt.Errorf("call: %w", err)
	}
	fmt.Printf("%d * %d = %d\n", 10, 20, reply.C)

	// An asynchronous call.
	reply2 := &Reply{}
	call, err := xclient.Go(ctx, "Mul", &Args{A: 7, B: 6}, reply2, nil)
	if err != nil {
		return fmt.Errorf("go: %w", err)
	}
	if done := <-call.Done; done.Error != nil {
		return fmt.Errorf("async call: %w", done.Error)
	}
	fmt.Printf("%d * %d = %d\n", 7, 6, reply2.C)

	// Graceful shutdown: in-flight calls finish, clients are told to drain.
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	return s.Shutdown(sctx)
}
