package main

import (
	"context"
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
	"github.com/spf13/cobra"
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

func newGatewayCmd() *cobra.Command {
	var g gatewayFlags
	cmd := &cobra.Command{
		Use:   "gateway --servers tcp@host:port[,...] [flags]",
		Short: "Serve an HTTP gateway that turns HTTP requests into calls",
		Long: `Serve rpcx's HTTP gateway until SIGINT or SIGTERM: a POST with the
X-RPCX-ServicePath, X-RPCX-ServiceMethod and X-RPCX-SerializeType headers
becomes a call through an XClient over the listed servers.

` + exitCodesHelp,
		Example: `  courier gateway --listen 127.0.0.1:8080 --servers tcp@127.0.0.1:8972,tcp@127.0.0.1:8973
  curl -H 'X-RPCX-ServicePath: Arith' -H 'X-RPCX-ServiceMethod: Mul' -H 'X-RPCX-SerializeType: 1' \
       -d '{"A":6,"B":7}' http://127.0.0.1:8080/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runGateway(ctx, &g, cmd.OutOrStdout(), nil)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&g.listen, "listen", "127.0.0.1:8080", "HTTP address to listen on")
	fs.StringVar(&g.servers, "servers", "", "comma-separated servers, network@host:port (required)")
	fs.StringVar(&g.fail, "failmode", "failover", "fail mode: failover, failfast, failtry, failbackup")
	fs.StringVar(&g.sel, "select", "roundrobin", "selector: roundrobin, random, weighted, ping, hash")
	fs.DurationVar(&g.timeout, "timeout", 30*time.Second, "deadline of each forwarded call")
	return cmd
}

// runGateway serves the gateway until ctx ends; ready, when set, gets the
// listening address.
func runGateway(ctx context.Context, g *gatewayFlags, stdout io.Writer, ready func(addr string)) error {
	if g.servers == "" {
		return usageErr("gateway: --servers is required (network@host:port,...)")
	}
	fm, ok := failModes[g.fail]
	if !ok {
		return usageErr("gateway: unknown --failmode %q", g.fail)
	}
	sm, ok := selectModes[g.sel]
	if !ok {
		return usageErr("gateway: unknown --select %q", g.sel)
	}
	var pairs []*client.KVPair
	for _, s := range strings.Split(g.servers, ",") {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "@") {
			return usageErr("gateway: bad server %q, want network@host:port", s)
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
		return usageErr("gateway: %v", err)
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
