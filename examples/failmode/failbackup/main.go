// Command failbackup shows the Failbackup fail mode: when the chosen server
// has not answered within Option.BackupLatency, the same request goes to a
// second server and the first reply wins. One server takes 200ms.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/failbackup
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
		fmt.Fprintln(os.Stderr, "failbackup:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*demo.Arith{{Name: "slow", Delay: 200 * time.Millisecond}, {Name: "fast"}}
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
	opt := client.DefaultOption
	opt.BackupLatency = 10 * time.Millisecond
	xclient := client.NewXClient("Arith", client.Failbackup, client.RoundRobin, d, opt)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 4; i++ {
		reply := &demo.Reply{}
		start := time.Now()
		if err := xclient.Call(ctx, "Mul", &demo.Args{A: i, B: 10}, reply); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		fmt.Printf("call %d: %d * 10 = %d from %s in %v\n", i, i, reply.C, reply.From, time.Since(start).Round(time.Millisecond))
	}
	fmt.Println("no call waited for the slow server: the backup answered after ~10ms")
	return nil
}
