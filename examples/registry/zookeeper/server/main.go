//go:build zookeeper

// Command server registers an Arith service in ZooKeeper (rpcx's layout:
// an ephemeral node /BasePath/Arith/tcp@host:port) and serves it for a
// while, then deregisters and shuts down gracefully:
//
//	go run -tags zookeeper ./examples/registry/zookeeper/server -zk 127.0.0.1:2181 -for 30s
//
// The ZooKeeper address defaults to $COURIER_ZK_SERVERS (set by
// `eval "$(scripts/testenv.sh up)"`), else 127.0.0.1:2181.
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
	zkDefault := os.Getenv("COURIER_ZK_SERVERS")
	if zkDefault == "" {
		zkDefault = "127.0.0.1:2181"
	}
	zk := flag.String("zk", zkDefault, "ZooKeeper servers, comma-separated host:port")
	addr := flag.String("addr", "127.0.0.1:8972", "address to serve on")
	base := flag.String("base", "/rpcx_test", "registry base path")
	serveFor := flag.Duration("for", 30*time.Second, "serve this long, then shut down")
	flag.Parse()
	if err := run(strings.Split(*zk, ","), *addr, *base, *serveFor); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(zk []string, addr, base string, serveFor time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := server.NewServer()
	r := serverplugin.NewZooKeeperRegisterPlugin(
		serverplugin.WithZKServiceAddress("tcp@"+ln.Addr().String()),
		serverplugin.WithZKServersAddress(zk),
		serverplugin.WithZKBasePath(base))
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
	fmt.Printf("serving Arith on %s, registered in ZooKeeper %v under %s for %v\n", ln.Addr(), zk, base, serveFor)
	time.Sleep(serveFor)

	// Deregister first so clients stop routing here, then drain.
	if err := r.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "server: deregister:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}
