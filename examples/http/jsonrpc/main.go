// Command jsonrpc calls a courier service with JSON-RPC 2.0 over HTTP on
// the server's tcp port: requests carry the header "X-JSONRPC-2.0: true",
// the method is "Service.Method" and params are the JSON argument. It
// sends one call, a batch with a notification and an unknown method, and
// prints the answers. It needs no external service:
//
//	go run ./examples/http/jsonrpc
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/courier-rpc/courier/server"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith struct{}

// Mul multiplies.
func (*Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "jsonrpc:", err)
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
	url := "http://" + s.Address().String() + "/"
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()

	for _, body := range []string{
		`{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":6,"B":7},"id":1}`,
		`[{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":3},"id":"a"},
		  {"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":1,"B":1}},
		  {"jsonrpc":"2.0","method":"Arith.Div","params":{"A":1,"B":1},"id":"b"}]`,
	} {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("X-JSONRPC-2.0", "true")
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		answer, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		fmt.Printf("%s\n", answer)
	}
	return nil
}
