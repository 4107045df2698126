// Command broadcast shows XClient.Broadcast: the request goes to every server
// and succeeds only if all succeed; otherwise the errors of the failing
// servers come back in an errors.MultiError.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/broadcast
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/client"
	cerrors "github.com/courier-rpc/courier/errors"
	"github.com/courier-rpc/courier/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "broadcast:", err)
		os.Exit(1)
	}
}

func run() error {
	var broken atomic.Bool
	services := []*demo.Arith{
		{Name: "a"},
		{Name: "b"},
		{Name: "c", Fail: func() error {
			if broken.Load() {
				return errors.New("c is broken")
			}
			return nil
		}},
	}
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
	reply := &demo.Reply{}
	if err := xclient.Broadcast(ctx, "Mul", &demo.Args{A: 10, B: 20}, reply); err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	fmt.Printf("broadcast to 3 servers: 10 * 20 = %d (one reply, from %s)\n", reply.C, reply.From)

	broken.Store(true)
	err = xclient.Broadcast(ctx, "Mul", &demo.Args{A: 10, B: 20}, reply)
	var me *cerrors.MultiError
	if !errors.As(err, &me) {
		return fmt.Errorf("broadcast with a broken server: want a MultiError, got %v", err)
	}
	fmt.Printf("broadcast with a broken server failed with %d error(s): %v\n", len(me.Errors), err)
	return nil
}
