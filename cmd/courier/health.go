package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newHealthCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "health [flags] [service]",
		Short: "Probe the Health service of a server; the exit code says whether it serves",
		Long: `Call Health.Check on the server (the health service, registered under the
path "Health") for the whole server, or for one service when it is named,
print the status and exit 0 when it is SERVING, 4 when it is NOT_SERVING or
SERVICE_UNKNOWN. Use it as a container or load-balancer probe.

` + exitCodesHelp,
		Example: `  courier health --addr tcp@127.0.0.1:8972
  courier health --addr tcp@127.0.0.1:8972 --timeout 1s Arith`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			service := ""
			if len(args) == 1 {
				service = args[0]
			}
			status, err := checkHealth(cmd.Context(), &cf, service)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), status)
			if status != "SERVING" {
				what := "the server"
				if service != "" {
					what = "service " + service
				}
				return &exitError{code: exitNotServing, err: fmt.Errorf("%s is %s", what, status)}
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

// checkHealth calls Health.Check for service and returns the status.
func checkHealth(ctx context.Context, cf *connFlags, service string) (string, error) {
	reply, err := cf.callJSON(ctx, "Health.Check", struct {
		Service string `json:"service"`
	}{service}, "does the server register the health service?", func(error) bool { return true })
	if err != nil {
		return "", err
	}
	var res struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(reply, &res); err != nil || res.Status == "" {
		return "", &exitError{code: exitRemote, err: fmt.Errorf("Health.Check replied %s, want {\"status\":...}", abbreviate(reply))}
	}
	return res.Status, nil
}
