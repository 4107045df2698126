// Command blacklist shows BlacklistPlugin and WhitelistPlugin, which refuse
// or admit connections by the client's IP address (exact or by network,
// IPv4 and IPv6). A refused client's connection is closed by the server and
// its call fails. It needs no external service:
//
//	go run ./examples/plugins/blacklist
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
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

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "blacklist:", err)
		os.Exit(1)
	}
}

func run() error {
	_, loopback, err := net.ParseCIDR("127.0.0.0/8")
	if err != nil {
		return err
	}
	cases := []struct {
		name   string
		plugin server.Plugin
	}{
		{"blacklist 127.0.0.1", &serverplugin.BlacklistPlugin{Blacklist: map[string]bool{"127.0.0.1": true}}},
		{"blacklist 10.0.0.0/8 only", &serverplugin.BlacklistPlugin{BlacklistMask: []*net.IPNet{mustCIDR("10.0.0.0/8")}}},
		{"whitelist 127.0.0.0/8", &serverplugin.WhitelistPlugin{WhitelistMask: []*net.IPNet{loopback}}},
		{"whitelist 192.168.1.1 only", &serverplugin.WhitelistPlugin{Whitelist: map[string]bool{"192.168.1.1": true}}},
	}
	for _, c := range cases {
		result, err := try(c.plugin)
		if err != nil {
			return err
		}
		fmt.Printf("%-28s -> %s\n", c.name+":", result)
	}
	return nil
}

// mustCIDR parses a network written in the program.
func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// try serves Arith with plugin and calls it once from 127.0.0.1.
func try(plugin server.Plugin) (string, error) {
	s := server.NewServer()
	s.Plugins.Add(plugin)
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go s.ServeListener("tcp", ln)
	defer s.Close()

	d, err := client.NewPeer2PeerDiscovery("tcp@"+ln.Addr().String(), "")
	if err != nil {
		return "", err
	}
	xclient := client.NewXClient("Arith", client.Failfast, client.RandomSelect, d, client.DefaultOption)
	defer xclient.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply := &Reply{}
	if err := xclient.Call(ctx, "Mul", &Args{A: 6, B: 7}, reply); err != nil {
		return fmt.Sprintf("refused (%v)", err), nil
	}
	return fmt.Sprintf("served: 6 * 7 = %d", reply.C), nil
}
