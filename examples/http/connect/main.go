// Command connect serves Arith on the "http" network (rpcx's HTTP CONNECT
// transport) and calls it with an XClient whose discovery names
// "http@host:port": the client sends "CONNECT /_rpcx_ HTTP/1.0", the server
// answers "HTTP/1.0 200 Connected to rpcx" and both sides then speak the
// binary rpcx protocol on that connection. It needs no external service:
//
//	go run ./examples/http/connect
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
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
}

func run() error {
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("http", "127.0.0.1:0") }()
	select {
	case <-s.Started:
	case err := <-errc:
		return err
	}
	defer s.Close()

	d, err := client.NewPeer2PeerDiscovery("http@"+s.Address().String(), "")
	if err != nil {
		return err
	}
	xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer xc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply := &Reply{}
	if err := xc.Call(ctx, "Mul", &Args{A: 10, B: 20}, reply); err != nil {
		return fmt.Errorf("call over http connect: %w", err)
	}
	fmt.Printf("over HTTP CONNECT: 10 * 20 = %d\n", reply.C)
	return nil
}
