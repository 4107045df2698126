//go:build consul

// Command server registers an Arith service in Consul (rpcx's layout:
// the KV key BasePath/Arith/tcp@host:port, held by a session bound to a
// TTL check, so it vanishes if the process dies) and serves it for a
// while, then deregisters and shuts down gracefully:
//
//	go run -tags consul ./examples/registry/consul/server -consul 127.0.0.1:8500 -for 30s
//
// The Consul address defaults to $COURIER_CONSUL_ADDR (set by
// `eval "$(scripts/testenv.sh up)"`), else 127.0.0.1:8500.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// Args are the arguments of Arith.Mul.
type Args struct {
	A int
	B int
}

// Reply is the result of Arith.Mul.
type Reply struct {
	C int
}

// Arith is the service.
type Arith int

// Mul multiplies.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	consulDefault := os.Getenv("COURIER_CONSUL_ADDR")
	if consulDefault == "" {
		consulDefault = "127.0.0.1:8500"
	}
	consul := flag.String("consul", consulDefault, "Consul agents (HTTP API), comma-separated host:port")
	addr := flag.String("addr", "127.0.0.1:8972", "address to serve on")
	base := flag.String("base", "/rpcx_test", "registry base path")
	serveFor := flag.Duration("for", 30*time.Second, "serve this long, then shut down")
	flag.Parse()
	if err := run(strings.Split(*consul, ","), *addr, *base, *serveFor); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(consul []string, addr, base string, serveFor time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := server.NewServer()
	r := serverplugin.NewConsulRegisterPlugin(
		serverplugin.WithConsulServiceAddress("tcp@"+ln.Addr().String()),
		serverplugin.WithConsulServers(consul),
		serverplugin.WithConsulBasePath(base))
	r.ServerStarted = s.Started // register only once the listener serves
	if err := r.Start(); err != nil {
		ln.Close()
		return err
	}
	s.Plugins.Add(r)
	if err := s.RegisterName("Arith", new(Arith), "weight=1"); err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	fmt.Printf("serving Arith on %s, registered in Consul %v under %s for %v\n", ln.Addr(), consul, base, serveFor)
	time.Sleep(serveFor)

	// Deregister first so clients stop routing here, then drain.
	if err := r.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "server: deregister:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}
