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
	"net"
	"os"
	"sync"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// Args are the arguments of Arith.Mul.
type Args struct {
	A int
	B int
}

// Reply is the result of Arith.Mul.
type Reply struct {
	C    int
	From string // the server that answered
}

// Arith is the service. Its behaviour is set per server.
type Arith struct {
	name  string
	delay time.Duration
	fail  func() error
}

// Mul multiplies after the server's delay, unless the server fails.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	if t.fail != nil {
		if err := t.fail(); err != nil {
			return err
		}
	}
	if t.delay > 0 {
		timer := time.NewTimer(t.delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	reply.C = args.A * args.B
	reply.From = t.name
	return nil
}

// startServer serves svc as "Arith" on a free loopback port and returns
// its discovery key ("tcp@127.0.0.1:port") and a stop function.
func startServer(svc *Arith, metadata string) (string, func(), error) {
	s := server.NewServer()
	if err := s.RegisterName("Arith", svc, metadata); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go s.ServeListener("tcp", ln)
	return "tcp@" + ln.Addr().String(), func() { s.Close() }, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "custom:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*Arith{{name: "even"}, {name: "odd"}}
	var pairs []*client.KVPair
	for _, svc := range services {
		key, stop, err := startServer(svc, "")
		if err != nil {
			return err
		}
		defer stop()
		pairs = append(pairs, &client.KVPair{Key: key, Value: services[len(pairs)].name})
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
		reply := &Reply{}
		if err := xclient.Call(ctx, "Mul", &Args{A: i, B: 10}, reply); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		counts[reply.From]++
	}
	for _, svc := range services {
		fmt.Printf("%-10s %d calls\n", svc.name, counts[svc.name])
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
	if a, ok := args.(*Args); ok && a.A%2 == 0 {
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
