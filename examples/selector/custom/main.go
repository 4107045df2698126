// Command custom shows a custom selector (SelectByUser + SetSelector):
// calls whose argument A is even go to server 'even', the others to
// 'odd'.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/selector/custom
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "custom:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*demo.Arith{{Name: "even"}, {Name: "odd"}}
	var pairs []*client.KVPair
	for _, svc := range services {
		key, stop, err := demo.StartServer(svc, "")
		if err != nil {
			return err
		}
		defer stop()
		pairs = append(pairs, &client.KVPair{Key: key, Value: services[len(pairs)].Name})
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		return err
	}
	defer d.Close()
	xclient := client.NewXClient("Arith", client.Failover, client.SelectByUser, d, client.DefaultOption)
	defer xclient.Close()
	xclient.SetSelector(&paritySelector{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[string]int{}
	for i := 1; i <= 20; i++ {
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

// paritySelector sends calls with an even Args.A to the server whose
// metadata is "even", the others to "odd". It is safe for concurrent use.
type paritySelector struct {
	mu      sync.RWMutex
	servers map[string]string // metadata -> key
}

// Select picks the server by the parity of args.A.
func (s *paritySelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	want := "odd"
	if a, ok := args.(*demo.Args); ok && a.A%2 == 0 {
		want = "even"
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.servers[want]
}

// UpdateServer records which key has which metadata.
func (s *paritySelector) UpdateServer(servers map[string]string) {
	m := make(map[string]string, len(servers))
	for key, meta := range servers {
		m[meta] = key
	}
	s.mu.Lock()
	s.servers = m
	s.mu.Unlock()
}
