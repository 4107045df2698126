// Command invoke calls a courier service with plain HTTP requests on the
// server's own tcp port (rpcx's "http invoke"): X-RPCX-* headers name the
// service, method and serialize type, the body is the encoded argument,
// and the answer carries the reply in its body and metadata in
// X-RPCX-Meta. A binary client uses the same port at the same time. It
// needs no external service:
//
//	go run ./examples/http/invoke
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith struct{}

// Mul multiplies and answers with response metadata.
func (*Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	req, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	ctx.Value(share.ResMetaDataKey).(map[string]string)["greeting"] = "hello " + req["user"]
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run() error {
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	select {
	case <-s.Started:
	case err := <-errc:
		return err
	}
	defer s.Close()
	addr := s.Address().String()

	// The guide's program: msgpack-encoded argument, X-RPCX-* headers.
	cc := &codec.MsgpackCodec{}
	data, err := cc.Encode(&Args{A: 10, B: 20})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(data))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("X-RPCX-MessageID", "10000")
	h.Set("X-RPCX-MessageType", "0")
	h.Set("X-RPCX-SerializeType", "3")
	h.Set("X-RPCX-ServicePath", "Arith")
	h.Set("X-RPCX-ServiceMethod", "Mul")
	h.Set("X-RPCX-Meta", "user=gopher")
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if st := res.Header.Get("X-RPCX-MessageStatusType"); st != "Normal" {
		return fmt.Errorf("status %s: %s", st, res.Header.Get("X-RPCX-ErrorMessage"))
	}
	reply := &Reply{}
	if err := cc.Decode(body, reply); err != nil {
		return err
	}
	fmt.Printf("over HTTP: 10 * 20 = %d, meta %s\n", reply.C, res.Header.Get("X-RPCX-Meta"))

	// A binary client on the same port.
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", addr); err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Call(ctx, "Arith", "Mul", &Args{A: 3, B: 4}, reply); err != nil {
		return err
	}
	fmt.Printf("over tcp, same port: 3 * 4 = %d\n", reply.C)
	return nil
}
