package client_test

import (
	"context"
	"fmt"
	"net"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/util/memconn"
)

// echoServer answers every request with its own payload, like a courier
// server whose handler returns its argument.
func echoServer(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			for {
				req, err := protocol.Read(conn)
				if err != nil {
					return
				}
				req.SetMessageType(protocol.Response)
				if _, err := req.WriteTo(conn); err != nil {
					return
				}
			}
		}()
	}
}

type Greeting struct {
	Name string
}

func ExampleClient_Call() {
	ln, err := memconn.Listen("example-echo")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go echoServer(ln)

	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("memu", "example-echo"); err != nil {
		panic(err)
	}
	defer c.Close()

	var reply Greeting
	if err := c.Call(context.Background(), "Greeter", "Echo", &Greeting{Name: "courier"}, &reply); err != nil {
		panic(err)
	}
	fmt.Println(reply.Name)

	typed, err := client.Invoke[Greeting, Greeting](context.Background(), c, "Greeter", "Echo", &Greeting{Name: "typed"})
	if err != nil {
		panic(err)
	}
	fmt.Println(typed.Name)
	// Output:
	// courier
	// typed
}
