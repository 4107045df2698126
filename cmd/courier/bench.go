package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// benchFlags configure "courier bench".
type benchFlags struct {
	conn     connFlags
	file     string
	conc     int
	conns    int
	total    int64
	dur      time.Duration
	warmup   time.Duration
	rate     float64
	output   string
	progress string
	interval time.Duration
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [flags] Service.Method [json | - | @file]",
		Short: "Load-test a method and print a latency histogram",
		Long: `Load-test one method. Closed loop by default: -c callers share --conns
connections and each sends its next call when the last one returns. Open
loop with --rate: calls start at a fixed total rate whatever the latency,
and latency counts from each call's intended start (no coordinated
omission); -c bounds the calls in flight. The run stops after -n calls or
-d, whichever comes first (-d 10s when neither is given), after --warmup of
unmeasured load.

While it runs, a live line (rate, errors, p50/p99 so far) is redrawn on
stderr when stderr is a terminal; otherwise a plain line is printed every
--interval. At the end it prints the latency distribution (HDR histogram:
p50, p90, p99, p99.9, max), errors by code, or all of it as JSON with
-o json. A first call checks the target before the load starts: if it
fails, bench exits with that call's exit code. Every call has its own
--timeout deadline, sent to the server as a program's deadline is; a call
that runs out of it counts as a deadline_exceeded error.

` + exitCodesHelp,
		Example: `  courier bench --addr tcp@127.0.0.1:8972 -c 100 --conns 4 -d 10s Arith.Mul '{"A":6,"B":7}'
  courier bench -n 100000 -c 8 Arith.Mul '{"A":6,"B":7}'
  courier bench --rate 5000 -c 200 -d 30s -o json Arith.Mul '{"A":6,"B":7}' > result.json
  courier bench --ser protobuf --file msg.bin -c 100 Hello.Say`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			payload, err := readPayload(cmd.InOrStdin(), args[1:], f.file, &f.conn)
			if err != nil {
				return err
			}
			return runBench(cmd.Context(), &f, args[0], payload, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.conn.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVarP(&f.file, "file", "f", "", `read the argument from this file ("-": standard input)`)
	fs.IntVarP(&f.conc, "concurrency", "c", 10, "concurrent callers (open loop: most calls in flight)")
	fs.IntVar(&f.conns, "conns", 1, "connections shared by the callers")
	fs.Int64VarP(&f.total, "requests", "n", 0, "measured calls; 0: only -d bounds the run")
	fs.DurationVarP(&f.dur, "duration", "d", 0, "measured window (default 10s when -n is 0, else 1h)")
	fs.DurationVar(&f.warmup, "warmup", 0, "unmeasured load before the window")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: total calls per second; 0: closed loop")
	fs.StringVarP(&f.output, "output", "o", "text", "result format: text or json")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (live line on a terminal, else plain lines), live, plain, none")
	fs.DurationVar(&f.interval, "interval", time.Second, "period of the plain progress lines")
	return cmd
}

func (f *benchFlags) check(cmd *cobra.Command) error {
	switch {
	case f.conc < 1 || f.conns < 1:
		return usageErr("-c and --conns must be at least 1")
	case f.total < 0 || f.dur < 0 || f.warmup < 0 || f.rate < 0:
		return usageErr("-n, -d, --warmup and --rate must not be negative")
	case f.interval < 10*time.Millisecond:
		return usageErr("--interval must be at least 10ms")
	case f.output != "text" && f.output != "json":
		return usageErr("unknown --output %q (text, json)", f.output)
	}
	switch f.progress {
	case "auto", "live", "plain", "none":
	default:
		return usageErr("unknown --progress %q (auto, live, plain, none)", f.progress)
	}
	if !cmd.Flags().Changed("duration") {
		f.dur = 10 * time.Second
		if f.total > 0 {
			f.dur = time.Hour
		}
	}
	if f.dur == 0 {
		return usageErr("-d must be positive")
	}
	return nil
}

// progressMode resolves "auto": a live line when stderr is a terminal.
func (f *benchFlags) progressMode(stderr io.Writer) string {
	if f.progress != "auto" {
		return f.progress
	}
	if fd, ok := stderr.(*os.File); ok && term.IsTerminal(int(fd.Fd())) {
		return "live"
	}
	return "plain"
}

func runBench(ctx context.Context, f *benchFlags, target string, payload []byte, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	payload, err := encodeArg(f.conn.ser, payload)
	if err != nil {
		return err
	}
	req, err := f.conn.request(target, payload)
	if err != nil {
		return err
	}
	clients := make([]*client.Client, f.conns)
	for i := range clients {
		cl, err := f.conn.dial()
		if err != nil {
			return err
		}
		defer cl.Close()
		clients[i] = cl
	}
	if _, _, err := f.conn.send(ctx, clients[0], req); err != nil {
		return fmt.Errorf("first call: %w", err)
	}
	b := newBencher(f, clients, req)
	stop := startProgress(b, f.progressMode(stderr), f.interval, stderr)
	res := b.run(ctx)
	stop()
	if f.output == "json" {
		return writeJSON(stdout, res.jsonView())
	}
	res.print(stdout)
	return nil
}
