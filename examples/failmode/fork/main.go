// Command fork shows XClient.Fork: the request goes to every server at
// once and the first successful reply wins (the others are cancelled).
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/fork
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fork:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*demo.Arith{
		{Name: "a (300ms)", Delay: 300 * time.Millisecond},
		{Name: "b (20ms)", Delay: 20 * time.Millisecond},
		{Name: "c (broken)", Fail: func() error { return errors.New("c is broken") }},
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
	xclient := client.NewXClient("Arith", client.Failover, client.RandomSelect, d, client.DefaultOption)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		reply := &demo.Reply{}
		start := time.Now()
		if err := xclient.Fork(ctx, "Mul", &demo.Args{A: i, B: 10}, reply); err != nil {
			return fmt.Errorf("fork %d: %w", i, err)
		}
		fmt.Printf("fork %d: %d * 10 = %d, first success from %s after %v\n", i, i, reply.C, reply.From, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
