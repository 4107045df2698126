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
	"net"
	"os"
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
		fmt.Fprintln(os.Stderr, "geo:", err)
		os.Exit(1)
	}
}

func run() error {
	services := []*Arith{{name: "shanghai"}, {name: "frankfurt"}, {name: "virginia"}}
	positions := []string{"latitude=31.23&longitude=121.47", "latitude=50.11&longitude=8.68", "latitude=38.95&longitude=-77.45"}
	var pairs []*client.KVPair
	for _, svc := range services {
		key, stop, err := startServer(svc, "")
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
