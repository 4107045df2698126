// Package demo holds what the fail-mode and selector examples share, as
// the guide's examples share their example package: the Arith service
// with a per-server name, delay and failure, and a helper that serves it
// on a free loopback port.
package demo

import (
	"context"
	"net"
	"time"

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
	Name  string        // reported in Reply.From
	Delay time.Duration // added to every call
	Fail  func() error  // when set and non-nil, the call fails with it
}

// Mul multiplies after the server's delay, unless the server fails.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	if t.Fail != nil {
		if err := t.Fail(); err != nil {
			return err
		}
	}
	if t.Delay > 0 {
		timer := time.NewTimer(t.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	reply.C = args.A * args.B
	reply.From = t.Name
	return nil
}

// StartServer serves svc as "Arith" on a free loopback port and returns
// its discovery key ("tcp@127.0.0.1:port") and a stop function.
func StartServer(svc *Arith, metadata string) (string, func(), error) {
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
