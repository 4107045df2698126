// Command bidirectional shows server notifications: the handler of
// Arith.Mul remembers the client's connection (RemoteConnContextKey) and
// the server then pushes messages to it with SendMessage. The client is a
// NewBidirectionalXClient that reads them from its channel; a notification
// sent before a reply is in the channel when the call returns, and
// Option.ServerMessageClosed reports the end of the connection. It needs
// no external service:
//
//	go run ./examples/bidirectional
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service; conns receives the connection of each caller.
type Arith struct {
	s     *server.Server
	conns chan net.Conn
}

// Mul multiplies, notifies the caller first, and hands its connection on.
func (a *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	conn := ctx.Value(server.RemoteConnContextKey).(net.Conn)
	if err := a.s.SendMessage(conn, "Arith", "Progress", nil, []byte("computing")); err != nil {
		return err
	}
	reply.C = args.A * args.B
	select {
	case a.conns <- conn:
	default:
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bidirectional:", err)
		os.Exit(1)
	}
}

func run() error {
	s := server.NewServer()
	arith := &Arith{s: s, conns: make(chan net.Conn, 1)}
	if err := s.RegisterName("Arith", arith, ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	<-s.Started

	ch := make(chan *protocol.Message, 16)
	closed := make(chan error, 1)
	option := client.DefaultOption
	option.BidirectionalBlock = true // back-pressure instead of dropping
	option.ServerMessageClosed = func(addr string, err error) { closed <- err }
	d, err := client.NewPeer2PeerDiscovery("tcp@"+s.Address().String(), "")
	if err != nil {
		return err
	}
	xclient := client.NewBidirectionalXClient("Arith", client.Failtry, client.RandomSelect, d, option, ch)
	defer xclient.Close()

	reply := &Reply{}
	if err := xclient.Call(context.Background(), "Mul", &Args{A: 10, B: 20}, reply); err != nil {
		return fmt.Errorf("call: %w", err)
	}
	fmt.Printf("10 * 20 = %d (%d notification already received)\n", reply.C, len(ch))

	conn := <-arith.conns
	for i := range 3 {
		if err := s.SendMessage(conn, "test_service_path", "test_service_method", nil, fmt.Appendf(nil, "message %d", i)); err != nil {
			return err
		}
	}
	for range 4 {
		msg := <-ch
		fmt.Printf("receive msg from server: %s.%s %s\n", msg.ServicePath, msg.ServiceMethod, msg.Payload)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		return err
	}
	<-errc
	select {
	case err := <-closed:
		fmt.Println("notifications ended:", err)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("no end of notifications")
	}
	return nil
}
