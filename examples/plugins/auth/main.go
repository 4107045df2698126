// Command auth shows token authentication: the server checks each request's
// token with Server.AuthFunc; the client sets it with XClient.Auth (sent in
// request metadata share.AuthKey). A wrong token gets an error response and
// the connection stays usable. It needs no external service:
//
//	go run ./examples/plugins/auth
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith int

// Mul multiplies.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

const validToken = "bearer tGzv3JOkF0XG5Qx2TlKWIA"

// auth accepts only validToken.
func auth(ctx context.Context, req *protocol.Message, token string) error {
	if token == validToken {
		return nil
	}
	return errors.New("invalid token")
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}

func run() error {
	s := server.NewServer()
	s.AuthFunc = auth
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
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
	xclient := client.NewXClient("Arith", client.Failfast, client.RandomSelect, d, client.DefaultOption)
	defer xclient.Close()

	call := func(token string) error {
		xclient.Auth(token)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// As in the guide: a metadata map in ctx; Auth adds the token to it.
		ctx = context.WithValue(ctx, share.ReqMetaDataKey, map[string]string{})
		reply := &Reply{}
		if err := xclient.Call(ctx, "Mul", &Args{A: 10, B: 20}, reply); err != nil {
			return err
		}
		fmt.Printf("token %q: 10 * 20 = %d\n", token, reply.C)
		return nil
	}

	err = call("bearer abcdefg1234567")
	if err == nil {
		return errors.New("a wrong token was accepted")
	}
	fmt.Printf("token %q: refused: %v (code %v)\n", "bearer abcdefg1234567", err, share.CodeOf(err))
	return call(validToken)
}
