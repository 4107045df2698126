// Command websocket serves Arith on the "ws" network and calls it with an
// XClient whose discovery names "ws@host:port": the rpcx protocol travels
// in binary WebSocket frames on path /_rpcx_. It needs no external
// service:
//
//	go run ./examples/http/websocket
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith struct{}

// Mul multiplies.
func (*Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "websocket:", err)
		os.Exit(1)
	}
}

func run() error {
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("ws", "127.0.0.1:0") }()
	select {
	case <-s.Started:
	case err := <-errc:
		return err
	}
	defer s.Close()

	d, err := client.NewPeer2PeerDiscovery("ws@"+s.Address().String(), "")
	if err != nil {
		return err
	}
	xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer xc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		reply := &Reply{}
		if err := xc.Call(ctx, "Mul", &Args{A: i, B: 7}, reply); err != nil {
			return fmt.Errorf("call over websocket: %w", err)
		}
		fmt.Printf("over WebSocket: %d * 7 = %d\n", i, reply.C)
	}
	return nil
}
