package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/courier-rpc/courier/dashboard"
	"github.com/spf13/cobra"
)

func newDashboardCmd() *cobra.Command {
	var cfg dashboard.Config
	cmd := &cobra.Command{
		Use:   "dashboard (--registry URL | --addr tcp@host:port[,...]) [flags]",
		Short: "Serve the web dashboard: services, servers, traffic, metadata edits",
		Long: `Serve the web dashboard until SIGINT or SIGTERM. It reads services and
servers from a registry (--registry) or from servers' reflection (--addr),
shows their traffic from each server's /metrics, edits registry metadata
(state, weight, group) and calls methods from a form. Listening beyond
loopback requires --token, which every write must carry.

` + exitCodesHelp,
		Example: `  courier dashboard --registry etcd://127.0.0.1:2379/rpcx_test
  courier dashboard --addr tcp@127.0.0.1:8972 --listen 127.0.0.1:8980
  courier dashboard --registry consul://127.0.0.1:8500/rpcx_test --listen 0.0.0.0:8980 --token "$TOKEN"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDashboard(ctx, cfg, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&cfg.Registry, "registry", "r", "", "registry URL: etcd://h:p[,h:p]/base, zookeeper://h:p/base, consul://h:p/base")
	fs.StringVarP(&cfg.Addr, "addr", "a", "", "servers without a registry, network@host:port[,...] (read through reflection)")
	fs.StringVar(&cfg.Listen, "listen", dashboard.DefaultListen, "the dashboard's HTTP address")
	fs.StringVar(&cfg.Token, "token", "", "token every write must carry (header X-Courier-Token); required beyond loopback")
	fs.DurationVar(&cfg.ScrapeInterval, "scrape-interval", dashboard.DefaultScrapeInterval, "how often servers' /metrics are read")
	fs.DurationVar(&cfg.Window, "window", dashboard.DefaultWindow, "how much traffic history is kept")
	fs.DurationVarP(&cfg.Timeout, "timeout", "t", dashboard.DefaultTimeout, "registry requests and the default call timeout")
	return cmd
}

// runDashboard serves until ctx ends, printing the URL once it listens.
// Configuration errors are usage errors.
func runDashboard(ctx context.Context, cfg dashboard.Config, stdout io.Writer) error {
	cfg.OnListen = func(a net.Addr) {
		fmt.Fprintf(stdout, "dashboard on http://%s/\n", a)
	}
	err := dashboard.Serve(ctx, cfg)
	if errors.Is(err, dashboard.ErrConfig) {
		return usageErr("%v", err)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("dashboard: %w", err)}
	}
	return nil
}
