// Command geo shows the Closest (geographic) selector: servers carry
// latitude/longitude metadata and the client, placed with
// ConfigGeoSelector, calls the nearest one.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/selector/geo
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
		fmt.Fprintln(os.Stderr, "geo:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*demo.Arith{{Name: "shanghai"}, {Name: "frankfurt"}, {Name: "virginia"}}
	positions := []string{"latitude=31.23&longitude=121.47", "latitude=50.11&longitude=8.68", "latitude=38.95&longitude=-77.45"}
	var pairs []*client.KVPair
	for _, svc := range services {
		key, stop, err := demo.StartServer(svc, "")
		if err != nil {
			return err
		}
		defer stop()
		pairs = append(pairs, &client.KVPair{Key: key, Value: positions[len(pairs)]})
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		return err
	}
	defer d.Close()
	xclient := client.NewXClient("Arith", client.Failover, client.Closest, d, client.DefaultOption)
	defer xclient.Close()
	xclient.ConfigGeoSelector(39.90, 116.40) // the client is in Beijing
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[string]int{}
	for i := 1; i <= 30; i++ {
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
