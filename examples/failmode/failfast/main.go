// Command failfast shows the Failfast fail mode: a call that fails is not
// retried; its error comes back at once. One of the two servers is down.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/failfast
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "failfast:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*demo.Arith{{Name: "up"}}
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
	// A second server that is down: its port refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	down := "tcp@" + ln.Addr().String()
	ln.Close()
	d.Update(append(pairs, &client.KVPair{Key: down}))

	xclient := client.NewXClient("Arith", client.Failfast, client.RoundRobin, d, client.DefaultOption)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0
	for i := 1; i <= 6; i++ {
		reply := &demo.Reply{}
		if err := xclient.Call(ctx, "Mul", &demo.Args{A: i, B: 10}, reply); err != nil {
			failed++
			fmt.Printf("call %d failed fast: %v\n", i, err)
			continue
		}
		fmt.Printf("call %d: %d * 10 = %d (from %s)\n", i, i, reply.C, reply.From)
	}
	if failed == 0 {
		return fmt.Errorf("expected calls to the down server to fail")
	}
	return nil
}
