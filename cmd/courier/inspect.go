package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/courier-rpc/courier/internal/registryadmin"
	"github.com/courier-rpc/courier/reflection"
	"github.com/spf13/cobra"
)

// inspectFlags select where list and describe read from and how they print.
type inspectFlags struct {
	conn     connFlags
	registry string
	output   string
}

func (f *inspectFlags) register(cmd *cobra.Command) {
	f.conn.register(cmd.Flags())
	cmd.Flags().StringVarP(&f.registry, "registry", "r", "",
		"read the registry instead of a server: etcd://h:p[,h:p]/base, zookeeper://h:p/base, consul://h:p/base")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
}

func (f *inspectFlags) check() error {
	if f.output != "text" && f.output != "json" {
		return usageErr("unknown --output %q (text, json)", f.output)
	}
	return nil
}

func newListCmd() *cobra.Command {
	var f inspectFlags
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the services of a server (reflection) or of a registry",
		Long: `List services. From a server (--addr), through its reflection service: the
server must register reflection.New() as "Reflection". From a registry
(--registry URL): every service under the base path, its servers and their
metadata (state, weight, group, tags).

` + exitCodesHelp,
		Example: `  courier list --addr tcp@127.0.0.1:8972
  courier list --registry etcd://127.0.0.1:2379/rpcx_test
  courier list --registry zookeeper://127.0.0.1:2181/rpcx_test -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.registry != "" {
				svcs, err := registryServices(cmd.Context(), &f, "")
				if err != nil {
					return err
				}
				return printRegistry(out, f.output, svcs)
			}
			var descs []reflection.ServiceDesc
			if err := reflectCall(cmd.Context(), &f.conn, "DescribeServices", "", &descs); err != nil {
				return err
			}
			if f.output == "json" {
				return writeJSON(out, descs)
			}
			for _, s := range descs {
				fmt.Fprintln(out, s.Name)
				for _, m := range s.Methods {
					fmt.Fprintf(out, "  %s.%s(%s) %s\n", s.Name, m.Name, m.ReqName, m.ReplyName)
				}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newDescribeCmd() *cobra.Command {
	var f inspectFlags
	cmd := &cobra.Command{
		Use:   "describe [flags] Service",
		Short: "Describe one service: methods and types, or its servers in a registry",
		Long: `Describe one service. From a server (--addr): each method with the Go
declarations and JSON Schema of its argument and reply (the server must
register reflection.New() as "Reflection"). From a registry (--registry
URL): the servers of the service and their metadata.

` + exitCodesHelp,
		Example: `  courier describe --addr tcp@127.0.0.1:8972 Arith
  courier describe --registry consul://127.0.0.1:8500/rpcx_test Arith -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.registry != "" {
				svcs, err := registryServices(cmd.Context(), &f, args[0])
				if err != nil {
					return err
				}
				return printRegistry(out, f.output, svcs)
			}
			var d reflection.ServiceDesc
			if err := reflectCall(cmd.Context(), &f.conn, "DescribeService", args[0], &d); err != nil {
				return err
			}
			if f.output == "json" {
				return writeJSON(out, d)
			}
			fmt.Fprintf(out, "service %s\n", d.Name)
			for _, m := range d.Methods {
				fmt.Fprintf(out, "\n%s(%s) %s\n%s\n%s\n", m.Name, m.ReqName, m.ReplyName, m.Req, m.Reply)
				fmt.Fprintf(out, "request schema: %s\nreply schema:   %s\n", m.ReqSchema, m.ReplySchema)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// reflectCall calls Reflection.method with a JSON string argument and
// decodes the JSON text it replies into out.
func reflectCall(ctx context.Context, cf *connFlags, method, arg string, out any) error {
	reply, err := cf.callJSON(ctx, "Reflection."+method, arg, `does the server register reflection.New() as "Reflection"?`,
		func(err error) bool { return strings.Contains(err.Error(), "Reflection") })
	if err != nil {
		return err
	}
	var text string
	if err := json.Unmarshal(reply, &text); err != nil {
		return &exitError{code: exitRemote, err: fmt.Errorf("Reflection.%s replied %s, not a JSON string", method, abbreviate(reply))}
	}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		return &exitError{code: exitRemote, err: fmt.Errorf("Reflection.%s: %v", method, err)}
	}
	return nil
}

// registryServices reads the registry; with service set, only that service
// (exitRemote when it is not registered).
func registryServices(ctx context.Context, f *inspectFlags, service string) ([]registryadmin.Service, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	t, err := registryadmin.ParseURL(f.registry)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	a, err := registryadmin.Open(ctx, t, registryadmin.Options{Timeout: f.conn.timeout})
	if err != nil {
		return nil, &exitError{code: exitUnreachable, err: fmt.Errorf("registry %s: %w", t, err)}
	}
	defer a.Close()
	svcs, err := a.Services(ctx)
	if err != nil {
		return nil, &exitError{code: exitUnreachable, err: fmt.Errorf("registry %s: %w", t, err)}
	}
	if service == "" {
		return svcs, nil
	}
	for _, s := range svcs {
		if s.Name == service {
			return []registryadmin.Service{s}, nil
		}
	}
	return nil, &exitError{code: exitRemote, err: fmt.Errorf("service %q is not registered in %s", service, t)}
}

func printRegistry(w io.Writer, format string, svcs []registryadmin.Service) error {
	if format == "json" {
		if svcs == nil {
			svcs = []registryadmin.Service{}
		}
		return writeJSON(w, svcs)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range svcs {
		plural := "s"
		if len(s.Servers) == 1 {
			plural = ""
		}
		fmt.Fprintf(tw, "%s (%d server%s)\n", s.Name, len(s.Servers), plural) // no tab: ends the column block
		for _, sv := range s.Servers {
			fmt.Fprintf(tw, "  %s\t%s\n", sv.Key, fieldsText(sv))
		}
	}
	return tw.Flush()
}

// fieldsText renders a server's metadata: state, weight, group, tags, then
// the other keys sorted.
func fieldsText(sv registryadmin.Server) string {
	f := sv.Fields
	state := "active"
	if !f.Active {
		state = "inactive"
	}
	parts := []string{"state=" + state}
	if f.Weight > 0 {
		parts = append(parts, fmt.Sprintf("weight=%d", f.Weight))
	}
	if f.Group != "" {
		parts = append(parts, "group="+f.Group)
	}
	if len(f.Tags) > 0 {
		parts = append(parts, "tags="+strings.Join(f.Tags, ","))
	}
	keys := make([]string, 0, len(f.Other))
	for k := range f.Other {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+f.Other[k])
	}
	if sv.MetadataErr != "" {
		parts = append(parts, "(bad metadata: "+sv.MetadataErr+")")
	}
	return strings.Join(parts, " ")
}
