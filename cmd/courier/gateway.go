package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/gateway"
)

// gatewayFlags configure "courier gateway".
type gatewayFlags struct {
	listen  string
	servers string
	fail    string
	sel     string
	timeout time.Duration
}

var failModes = map[string]client.FailMode{
	"failover": client.Failover, "failfast": client.Failfast, "failtry": client.Failtry, "failbackup": client.Failbackup,
}

var selectModes = map[string]client.SelectMode{
	"roundrobin": client.RoundRobin, "random": client.RandomSelect, "weighted": client.WeightedRoundRobin,
	"ping": client.WeightedICMP, "hash": client.ConsistentHash,
}

// cmdGateway runs the HTTP gateway until SIGINT or SIGTERM:
//
//	courier gateway -listen 127.0.0.1:8080 -servers tcp@host1:8972,tcp@host2:8972
func cmdGateway(args []string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runGateway(ctx, args, stdout, nil)
}

// runGateway serves the gateway until ctx ends; ready, when set, gets the
// listening address.
func runGateway(ctx context.Context, args []string, stdout io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var g gatewayFlags
	fs.StringVar(&g.listen, "listen", "127.0.0.1:8080", "HTTP address to listen on")
	fs.StringVar(&g.servers, "servers", "", "comma-separated servers, network@host:port (required)")
	fs.StringVar(&g.fail, "failmode", "failover", "fail mode: failover, failfast, failtry, failbackup")
	fs.StringVar(&g.sel, "select", "roundrobin", "selector: roundrobin, random, weighted, ping, hash")
	fs.DurationVar(&g.timeout, "timeout", 30*time.Second, "deadline of each forwarded call")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if g.servers == "" || fs.NArg() > 0 {
		return errors.New("gateway: -servers is required (network@host:port,...) and takes no arguments")
	}
	fm, ok := failModes[g.fail]
	if !ok {
		return fmt.Errorf("gateway: unknown -failmode %q", g.fail)
	}
	sm, ok := selectModes[g.sel]
	if !ok {
		return fmt.Errorf("gateway: unknown -select %q", g.sel)
	}
	var pairs []*client.KVPair
	for _, s := range strings.Split(g.servers, ",") {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "@") {
			return fmt.Errorf("gateway: bad server %q, want network@host:port", s)
		}
		pairs = append(pairs, &client.KVPair{Key: s})
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		return err
	}
	gw := gateway.New(d, fm, sm, client.DefaultOption)
	gw.Timeout = g.timeout
	defer gw.Close()
	ln, err := net.Listen("tcp", g.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "gateway listening on http://%s for %d server(s)\n", ln.Addr(), len(pairs))
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	<-errc
	return err
}
