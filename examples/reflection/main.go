// Command reflection shows a server describing its own services: it
// registers reflection.New() as a plugin and as the "Reflection" service,
// then a client prints rpcx's text view of Arith (GetService), lists the
// services and describes Arith as JSON (Go declarations and JSON Schema of
// the arguments), the way `courier list` and `courier describe` do.
//
//	go run ./examples/reflection
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/reflection"
	"github.com/courier-rpc/courier/server"
)

// Args are the arguments of Arith.Mul.
type Args struct {
	A int `json:"a"`
	B int `json:"b"`
}

// Reply is the result of Arith.Mul.
type Reply struct {
	C int `json:"c"`
}

// Arith multiplies.
type Arith struct{}

// Mul sets reply.C to A*B.
func (Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reflection:", err)
		os.Exit(1)
	}
}

func run() error {
	s := server.NewServer()
	r := reflection.New()
	s.Plugins.Add(r) // learns every service registered from now on
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	if err := s.RegisterName("Reflection", r, ""); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	defer s.Close()

	opt := client.DefaultOption
	c := client.NewClient(opt)
	if err := c.Connect("tcp", ln.Addr().String()); err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var text string
	if err := c.Call(ctx, "Reflection", "GetService", "Arith", &text); err != nil {
		return err
	}
	fmt.Print(text)

	var list string
	if err := c.Call(ctx, "Reflection", "DescribeServices", "", &list); err != nil {
		return err
	}
	var services []reflection.ServiceDesc
	if err := json.Unmarshal([]byte(list), &services); err != nil {
		return err
	}
	for _, si := range services {
		fmt.Printf("service %s (%d methods)\n", si.Name, len(si.Methods))
	}

	var desc string
	if err := c.Call(ctx, "Reflection", "DescribeService", "Arith", &desc); err != nil {
		return err
	}
	var arith reflection.ServiceDesc
	if err := json.Unmarshal([]byte(desc), &arith); err != nil {
		return err
	}
	fmt.Print(arith.String())
	for _, m := range arith.Methods {
		fmt.Printf("%s request schema: %s\n", m.Name, m.ReqSchema)
	}
	return nil
}
