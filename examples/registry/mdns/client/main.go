//go:build mdns

// Command client finds the Arith servers announced by multicast DNS (see
// ../server, which shows how to run both inside a private network
// namespace) and calls Arith.Mul a few times through an XClient, then
// exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
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

func main() {
	iface := flag.String("iface", os.Getenv("COURIER_MDNS_IFACE"), "browse on this interface only (default: every multicast interface)")
	calls := flag.Int("n", 5, "number of calls")
	wait := flag.Duration("wait", 10*time.Second, "how long to wait for a server to answer")
	flag.Parse()
	if err := run(*iface, *calls, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(iface string, calls int, wait time.Duration) error {
	var ifaces []net.Interface
	if iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		ifaces = []net.Interface{*ifi}
	}
	// Browse for 500 ms per round, a round every second.
	d, err := client.NewMDNSDiscoveryOnInterfaces("Arith", 500*time.Millisecond, time.Second, "local", ifaces)
	if err != nil {
		return err
	}
	defer d.Close()
	deadline := time.Now().Add(wait)
	for len(d.GetServices()) == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no Arith server answered after %v", wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	xclient := client.NewXClient("Arith", client.Failover, client.RoundRobin, d, client.DefaultOption)
	defer xclient.Close()
	for i := 1; i <= calls; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		reply := &Reply{}
		err := xclient.Call(ctx, "Mul", &Args{A: i, B: 10}, reply)
		cancel()
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		fmt.Printf("%d * %d = %d\n", i, 10, reply.C)
	}
	return nil
}
