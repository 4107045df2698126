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
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/client"
	cerrors "github.com/courier-rpc/courier/errors"
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
		fmt.Fprintln(os.Stderr, "broadcast:", err)
		os.Exit(1)
	}
}

func run() error {
	var broken atomic.Bool
	services := []*Arith{
		{name: "a"},
		{name: "b"},
		{name: "c", fail: func() error {
			if broken.Load() {
				return errors.New("c is broken")
			}
			return nil
		}},
	}
	var pairs []*client.KVPair
	for _, svc := range services {
		key, stop, err := startServer(svc, "")
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
	reply := &Reply{}
	if err := xclient.Broadcast(ctx, "Mul", &Args{A: 10, B: 20}, reply); err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	fmt.Printf("broadcast to 3 servers: 10 * 20 = %d (one reply, from %s)\n", reply.C, reply.From)

	broken.Store(true)
	err = xclient.Broadcast(ctx, "Mul", &Args{A: 10, B: 20}, reply)
	var me *cerrors.MultiError
	if !errors.As(err, &me) {
		return fmt.Errorf("broadcast with a broken server: want a MultiError, got %v", err)
	}
	fmt.Printf("broadcast with a broken server failed with %d error(s): %v\n", len(me.Errors), err)
	return nil
}
