// Command courier is courier's command line: call methods, list and
// describe services (from a server's reflection or from a registry), probe
// health, load-test a method, and serve the HTTP gateway and the web
// dashboard.
//
//	courier call     [flags] Service.Method [json | - | @file]
//	courier list     [flags]                 (--addr or --registry URL)
//	courier describe [flags] Service         (--addr or --registry URL)
//	courier health   [flags] [service]
//	courier bench    [flags] Service.Method [json | - | @file]
//	courier gateway  --listen host:port --servers tcp@a:1,tcp@b:2
//	courier dashboard (--registry URL | --addr tcp@host:port)
//	courier completion bash|zsh|fish
//
// "courier help COMMAND" and "courier COMMAND --help" show every flag with
// examples. Long flags take one or two dashes (-addr and --addr).
//
// Exit codes: 0 success; 1 the server answered with an error (the line on
// stderr names its code); 2 bad usage or input (flags, JSON, target, file);
// 3 the server or registry could not be reached (connection refused, TLS
// handshake, timeout); 4 health: the server or service is not serving.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes of the command, documented in the package comment and in
// "courier --help".
const (
	exitOK          = 0
	exitRemote      = 1
	exitUsage       = 2
	exitUnreachable = 3
	exitNotServing  = 4
)

const exitCodesHelp = `Exit codes:
  0  success
  1  the server answered with an error (stderr names its code)
  2  bad usage or input: flags, JSON, Service.Method, files
  3  the server or registry could not be reached: refused, TLS, timeout
  4  health: the server or the service is not serving`

// exitError carries the exit code of a failure; its message is printed as
// one line on stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// run executes the command line args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(normalizeArgs(root, args))
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintln(stderr, "courier:", oneLine(err.Error()))
		return ee.code
	}
	// cobra's own errors: unknown command, bad flag, wrong argument count.
	fmt.Fprintln(stderr, "courier:", oneLine(err.Error()))
	fmt.Fprintf(stderr, "run '%s --help' for usage\n", cmd.CommandPath())
	return exitUsage
}

// oneLine keeps a message on one line of stderr.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "courier",
		Short: "Call, inspect, probe and load-test courier and rpcx services",
		Long: `courier is the command line of the courier RPC framework (wire-compatible
with rpcx): call methods with JSON, list and describe services from a
server's reflection or from a registry, probe health, and load-test.

` + exitCodesHelp,
		Example: `  courier call --addr tcp@127.0.0.1:8972 Arith.Mul '{"A":6,"B":7}'
  courier list --registry etcd://127.0.0.1:2379/rpcx_test
  courier bench -c 100 --conns 4 -d 10s Arith.Mul '{"A":6,"B":7}'`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	root.AddCommand(newCallCmd(), newListCmd(), newDescribeCmd(), newHealthCmd(), newBenchCmd(), newGatewayCmd(), newDashboardCmd())
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = "  source <(courier completion bash)\n  courier completion zsh > \"${fpath[1]}/_courier\"\n  courier completion fish > ~/.config/fish/completions/courier.fish"
		}
	}
	return root
}

// normalizeArgs turns -name into --name for every long flag name the
// commands define, so Go-style single-dash flags work as they did before
// the port to cobra. Arguments after "--" are left alone.
func normalizeArgs(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	long["help"] = true
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && long[name] {
				out[i] = "-" + a
			}
		}
	}
	return out
}
