// Command protobuf shows the whole .proto loop in one process: the service
// in greeterpb/greeter.proto, the stubs protoc-gen-courier generated from it
// (go generate ./examples/protobuf/...), a server that implements
// greeterpb.GreeterServer, and calls through the generated client over one
// connection and over an XClient. It needs no external service:
//
//	go run ./examples/protobuf
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/examples/protobuf/greeterpb"
	"github.com/courier-rpc/courier/server"
)

// greeter implements greeterpb.GreeterServer.
type greeter struct{}

// SayHello answers "Hello, <name>!".
func (greeter) SayHello(_ context.Context, in *greeterpb.HelloRequest, out *greeterpb.HelloReply) error {
	out.Message = "Hello, " + in.GetName() + "!"
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "protobuf:", err)
		os.Exit(1)
	}
}

func run() error {
	s := server.NewServer()
	if err := greeterpb.RegisterGreeterServer(s, greeter{}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	fmt.Println("service path:", greeterpb.GreeterServicePath)

	// One connection.
	gc, conn, err := greeterpb.DialGreeter("tcp", ln.Addr().String(), client.DefaultOption)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	reply, err := gc.SayHello(ctx, &greeterpb.HelloRequest{Name: "conn"}, client.WithCallTimeout(time.Second))
	if err != nil {
		return err
	}
	fmt.Println(reply.GetMessage())

	// An XClient: discovery, selector and fail mode as usual.
	d, err := client.NewPeer2PeerDiscovery("tcp@"+ln.Addr().String(), "")
	if err != nil {
		return err
	}
	xc := greeterpb.NewGreeterXClient(d, client.Failtry, client.RandomSelect, client.DefaultOption)
	defer xc.Close()
	reply, err = greeterpb.NewGreeterClient(xc).SayHello(ctx, &greeterpb.HelloRequest{Name: "xclient"},
		client.WithCallMetadata(map[string]string{"trace": "example"}))
	if err != nil {
		return err
	}
	fmt.Println(reply.GetMessage())
	return nil
}
