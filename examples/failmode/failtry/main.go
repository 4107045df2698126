// Command failtry shows the Failtry fail mode: a failed call is retried on
// the same server, up to Option.Retries more times. The server closes the
// connection of the first two attempts of every call.
//
// It starts its own servers on loopback and exits by itself:
//
//	go run ./examples/failmode/failtry
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
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
		fmt.Fprintln(os.Stderr, "failtry:", err)
		os.Exit(1)
	}
}

func run() error {
	var attempts atomic.Int64
	s := server.NewServer()
	// The handler fails at the connection level: it closes the connection
	// it was called on for attempts 1 and 2 of each call.
	if err := s.RegisterFunctionName("Flaky", "Mul", func(ctx context.Context, args *Args, reply *Reply) error {
		if attempts.Add(1)%3 != 0 {
			if c, ok := ctx.Value(server.RemoteConnContextKey).(net.Conn); ok {
				c.Close()
			}
			return nil
		}
		reply.C = args.A * args.B
		reply.From = "flaky"
		return nil
	}, ""); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	defer s.Close()

	d, err := client.NewPeer2PeerDiscovery("tcp@"+ln.Addr().String(), "")
	if err != nil {
		return err
	}
	defer d.Close()
	opt := client.DefaultOption
	opt.Retries = 3
	xclient := client.NewXClient("Flaky", client.Failtry, client.RandomSelect, d, opt)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		before := attempts.Load()
		reply := &Reply{}
		if err := xclient.Call(ctx, "Mul", &Args{A: i, B: 10}, reply); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		fmt.Printf("call %d: %d * 10 = %d after %d attempts on the same server\n", i, i, reply.C, attempts.Load()-before)
	}
	return nil
}
