// Command failfast shows the Failfast fail mode: a call that fails after the
// server may have run it is not retried; its error comes back at once. Of
// three servers one answers, one fails every call (its errors come back)
// and one is down: a call sent there provably did not run, so the XClient
// retries it once on another server even in Failfast, as gRPC's
// transparent retry does (see the README's retry table).
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/failfast
package main

import (
	"context"
	"errors"
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
	broken := errors.New("broken: out of service")
	services := []*demo.Arith{{Name: "up"}, {Name: "broken", Fail: func() error { return broken }}}
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
	for i := 1; i <= 9; i++ {
		reply := &demo.Reply{}
		if err := xclient.Call(ctx, "Mul", &demo.Args{A: i, B: 10}, reply); err != nil {
			var se client.ServiceError
			if !errors.As(err, &se) {
				return fmt.Errorf("call %d: only the broken server's own errors should come back: %w", i, err)
			}
			failed++
			fmt.Printf("call %d failed fast: %v\n", i, err)
			continue
		}
		fmt.Printf("call %d: %d * 10 = %d (from %s)\n", i, i, reply.C, reply.From)
	}
	// Round robin over three servers: the calls that reach the broken one
	// fail at once with its error; those sent to the down one were never
	// written and were retried on a live server (which may be the broken
	// one), so no connection error comes back.
	if failed < 3 {
		return fmt.Errorf("expected at least the 3 calls to the broken server to fail, %d failed", failed)
	}
	return nil
}
