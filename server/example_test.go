package server_test

import (
	"context"
	"fmt"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/util/memconn"
)

type Args struct{ A, B int }

type Reply struct{ C int }

type Arith struct{}

func (*Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

// Example serves Arith on the in-process memu network and calls it with a
// raw rpcx frame.
func Example() {
	s := server.NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve("memu", "example-arith") }()
	<-s.Started

	conn, err := memconn.Dial("example-arith")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	req := protocol.NewMessage()
	req.SetSerializeType(protocol.JSON)
	req.SetSeq(1)
	req.ServicePath, req.ServiceMethod = "Arith", "Mul"
	req.Payload = []byte(`{"A":6,"B":7}`)
	if _, err := req.WriteTo(conn); err != nil {
		fmt.Println(err)
		return
	}
	res, err := protocol.Read(conn)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Seq(), string(res.Payload))

	s.Close()
	fmt.Println(<-done)
	// Output:
	// 1 {"C":42}
	// http: Server closed
}

// ExampleHandle registers a typed handler: no reflection per call, and a
// wrong signature does not compile.
func ExampleHandle() {
	s := server.NewServer()
	err := server.Handle(s, "Arith", "Add", func(ctx context.Context, a *Args, r *Reply) error {
		r.C = a.A + a.B
		return nil
	})
	fmt.Println(err, s.ListServices())
	// Output: <nil> [Arith]
}
