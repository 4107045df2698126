// Command alias shows AliasPlugin: the Arith.Mul method is also reachable
// as a.b.c.d.Times. ResponsePlugin makes responses carry the alias names
// too (clients match responses by sequence number, so this is optional).
// It needs no external service:
//
//	go run ./examples/plugins/alias
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
		fmt.Fprintln(os.Stderr, "alias:", err)
		os.Exit(1)
	}
}

func run() error {
	a := serverplugin.NewAliasPlugin()
	a.Alias("a.b.c.d", "Times", "Arith", "Mul")
	s := server.NewServer()
	s.Plugins.Add(a)
	s.Plugins.Add(a.ResponsePlugin())
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range [][2]string{{"a.b.c.d", "Times"}, {"Arith", "Mul"}} {
		xclient := client.NewXClient(name[0], client.Failtry, client.RandomSelect, d, client.DefaultOption)
		reply := &Reply{}
		err := xclient.Call(ctx, name[1], &Args{A: 10, B: 20}, reply)
		xclient.Close()
		if err != nil {
			return fmt.Errorf("%s.%s: %w", name[0], name[1], err)
		}
		fmt.Printf("%s.%s(10, 20) = %d\n", name[0], name[1], reply.C)
	}
	return nil
}
