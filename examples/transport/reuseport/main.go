// Command reuseport starts three servers on one TCP port with the
// "reuseport" network (SO_REUSEPORT, Linux): the kernel spreads new
// connections over them. Each server answers with its own name; 12
// clients show the spread. It needs no external service:
//
//	go run ./examples/transport/reuseport
package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// Who answers with the name of the server it runs on.
type Who struct{ name string }

// Name sets reply to the server's name.
func (w *Who) Name(ctx context.Context, args *struct{}, reply *string) error {
	*reply = w.name
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reuseport:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := "127.0.0.1:0"
	for i := range 3 {
		s := server.NewServer()
		if err := s.RegisterName("Who", &Who{name: fmt.Sprintf("server-%d", i)}, ""); err != nil {
			return err
		}
		errc := make(chan error, 1)
		go func() { errc <- s.Serve("reuseport", addr) }()
		select {
		case <-s.Started:
		case err := <-errc:
			return err
		}
		defer func() { s.Close(); <-errc }()
		addr = s.Address().String() // the others share the first one's port
	}
	fmt.Println("three servers on", addr)

	hits := map[string]int{}
	for range 12 {
		c := client.NewClient(client.DefaultOption)
		if err := c.Connect("tcp", addr); err != nil {
			return err
		}
		var name string
		err := c.Call(context.Background(), "Who", "Name", &struct{}{}, &name)
		c.Close()
		if err != nil {
			return err
		}
		hits[name]++
	}
	names := make([]string, 0, len(hits))
	for n := range hits {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("%s served %d connections\n", n, hits[n])
	}
	return nil
}
