//go:build mdns

// Command server announces an Arith service by multicast DNS (DNS-SD type
// "_rpcxservices") and serves it for a while, then says goodbye and shuts
// down gracefully. mDNS packets go to every multicast interface unless
// -iface names one; to try it without touching the network, run both
// programs inside a private namespace:
//
//	go build -tags mdns -o /tmp/mdns-server ./examples/registry/mdns/server
//	go build -tags mdns -o /tmp/mdns-client ./examples/registry/mdns/client
//	scripts/netns-mdns.sh bash -c '/tmp/mdns-server -iface lo -for 3s & sleep 0.5; /tmp/mdns-client -iface lo; wait'
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
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
	addr := flag.String("addr", "127.0.0.1:8972", "address to serve on")
	iface := flag.String("iface", os.Getenv("COURIER_MDNS_IFACE"), "announce on this interface only (default: every multicast interface)")
	serveFor := flag.Duration("for", 30*time.Second, "serve this long, then shut down")
	flag.Parse()
	if err := run(*addr, *iface, *serveFor); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(addr, iface string, serveFor time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := server.NewServer()
	r := serverplugin.NewMDNSRegisterPlugin("tcp@"+ln.Addr().String(), 0, nil, 0, "local")
	if iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			ln.Close()
			return err
		}
		r.Interfaces = []net.Interface{*ifi}
	}
	r.ServerStarted = s.Started // announce only once the listener serves
	if err := r.Start(); err != nil {
		ln.Close()
		return err
	}
	s.Plugins.Add(r)
	if err := s.RegisterName("Arith", new(Arith), "weight=1"); err != nil {
		return err
	}
	go s.ServeListener("tcp", ln)
	fmt.Printf("serving Arith on %s, announced by mDNS for %v\n", ln.Addr(), serveFor)
	time.Sleep(serveFor)

	if err := r.Stop(); err != nil { // goodbye first, then drain
		fmt.Fprintln(os.Stderr, "server: mdns stop:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}
