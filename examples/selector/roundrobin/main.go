// Command roundrobin shows the RoundRobin selector: calls go to the servers in
// turn, so each gets the same share.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/selector/roundrobin
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "roundrobin:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*demo.Arith{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	var pairs []*client.KVPair
	for _, svc := range services {
		key, stop, err := demo.StartServer(svc, "")
		if err != nil {
			return err
		}
		defer stop()
		pairs = append(pairs, &client.KVPair{Key: key, Value: ""})
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		return err
	}
	defer d.Close()
	xclient := client.NewXClient("Arith", client.Failover, client.RoundRobin, d, client.DefaultOption)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[string]int{}
	for i := 1; i <= 300; i++ {
		reply := &demo.Reply{}
		if err := xclient.Call(ctx, "Mul", &demo.Args{A: i, B: 10}, reply); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		counts[reply.From]++
	}
	for _, svc := range services {
		fmt.Printf("%-10s %d calls\n", svc.Name, counts[svc.Name])
	}
	return nil
}
