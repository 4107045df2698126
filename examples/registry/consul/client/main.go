//go:build consul

// Command client finds the Arith servers registered in Consul (see
// ../server) and calls Arith.Mul a few times through an XClient, then
// exits:
//
//	go run -tags consul ./examples/registry/consul/client -consul 127.0.0.1:8500
//
// The Consul address defaults to $COURIER_CONSUL_ADDR, else
// 127.0.0.1:8500.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/courier-rpc/courier/client"
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

func main() {
	consulDefault := os.Getenv("COURIER_CONSUL_ADDR")
	if consulDefault == "" {
		consulDefault = "127.0.0.1:8500"
	}
	consul := flag.String("consul", consulDefault, "Consul agents (HTTP API), comma-separated host:port")
	base := flag.String("base", "/rpcx_test", "registry base path")
	calls := flag.Int("n", 5, "number of calls")
	wait := flag.Duration("wait", 10*time.Second, "how long to wait for a server to register")
	flag.Parse()
	if err := run(strings.Split(*consul, ","), *base, *calls, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(consul []string, base string, calls int, wait time.Duration) error {
	d, err := client.NewConsulDiscovery(base, "Arith", consul, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	// Wait for a server: the list fills through a Consul blocking query.
	deadline := time.Now().Add(wait)
	for len(d.GetServices()) == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no Arith server registered under %s after %v", base, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	xclient := client.NewXClient("Arith", client.Failover, client.RoundRobin, d, client.DefaultOption)
	defer xclient.Close()
	for i := 1; i <= calls; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		reply := &Reply{}
		err := xclient.Call(ctx, "Mul", &Args{A: i, B: 10}, reply)
		cancel()
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		fmt.Printf("%d * %d = %d\n", i, 10, reply.C)
	}
	return nil
}
