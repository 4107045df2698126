// Command gateway runs the HTTP gateway (package gateway) in front of two
// courier servers: HTTP clients post X-RPCX-* requests to the gateway,
// which calls the servers through an XClient (round robin, fail over). One
// server is then closed and calls keep succeeding. It needs no external
// service:
//
//	go run ./examples/http/gateway
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/gateway"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service; it names the server that answered.
type Arith struct{ name string }

// Mul multiplies.
func (a *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	ctx.Value(share.ResMetaDataKey).(map[string]string)["server"] = a.name
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func startServer(name string) (*server.Server, string, error) {
	s := server.NewServer()
	if err := s.RegisterName("Arith", &Arith{name: name}, ""); err != nil {
		return nil, "", err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	select {
	case <-s.Started:
		return s, s.Address().String(), nil
	case err := <-errc:
		return nil, "", err
	}
}

func run() error {
	s1, a1, err := startServer("one")
	if err != nil {
		return err
	}
	defer s1.Close()
	s2, a2, err := startServer("two")
	if err != nil {
		return err
	}
	defer s2.Close()

	d, err := client.NewMultipleServersDiscovery([]*client.KVPair{{Key: "tcp@" + a1}, {Key: "tcp@" + a2}})
	if err != nil {
		return err
	}
	gw := gateway.New(d, client.Failover, client.RoundRobin, client.DefaultOption)
	defer gw.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: gw, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	call := func(a, b int) error {
		req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", bytes.NewReader([]byte(fmt.Sprintf(`{"A":%d,"B":%d}`, a, b))))
		if err != nil {
			return err
		}
		req.Header.Set("X-RPCX-SerializeType", "1")
		req.Header.Set("X-RPCX-ServicePath", "Arith")
		req.Header.Set("X-RPCX-ServiceMethod", "Mul")
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK || res.Header.Get("X-RPCX-MessageStatusType") == "Error" {
			return fmt.Errorf("status %s: %s", res.Status, res.Header.Get("X-RPCX-ErrorMessage"))
		}
		fmt.Printf("%d * %d: %s (meta %s)\n", a, b, body, res.Header.Get("X-RPCX-Meta"))
		return nil
	}
	for i := 1; i <= 2; i++ {
		if err := call(i, 10); err != nil {
			return err
		}
	}
	s1.Close()
	fmt.Println("server one closed")
	for i := 3; i <= 4; i++ {
		if err := call(i, 10); err != nil {
			return err
		}
	}
	return nil
}
