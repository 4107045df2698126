// Command unix serves Arith on a Unix domain socket in a temporary
// directory and calls it through an XClient with "unix@path". It needs no
// external service:
//
//	go run ./examples/transport/unix
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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
func (Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "unix:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "courier-unix")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "arith.sock")

	s := server.NewServer()
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("unix", path) }()
	<-s.Started
	defer func() { s.Close(); <-errc }()

	d, err := client.NewPeer2PeerDiscovery("unix@"+path, "")
	if err != nil {
		return err
	}
	xclient := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer xclient.Close()
	reply := &Reply{}
	if err := xclient.Call(context.Background(), "Mul", &Args{A: 10, B: 20}, reply); err != nil {
		return fmt.Errorf("call: %w", err)
	}
	fmt.Printf("over a unix socket: 10 * 20 = %d\n", reply.C)
	return nil
}
