// Command failover shows the Failover fail mode: when a server fails, the
// call is retried on another server, up to Option.Retries more times.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/failover
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
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*demo.Arith{{Name: "healthy"}}
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
	// A second server that is down: its calls fail with connection errors.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	down := "tcp@" + ln.Addr().String()
	ln.Close()
	d.Update(append(pairs, &client.KVPair{Key: down}))

	opt := client.DefaultOption
	opt.Retries = 3
	xclient := client.NewXClient("Arith", client.Failover, client.RoundRobin, d, opt)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 6; i++ {
		reply := &demo.Reply{}
		if err := xclient.Call(ctx, "Mul", &demo.Args{A: i, B: 10}, reply); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		fmt.Printf("call %d: %d * 10 = %d (from %s)\n", i, i, reply.C, reply.From)
	}
	fmt.Println("every call succeeded: failed attempts went to the other server")
	return nil
}
