// Command clicheck checks that `courier bench` measures what this module's
// load generator measures: against one courier benchmark server it runs
// cmd/client and `courier bench` alternately at the same concurrency,
// connections, window and warm-up, with the same 581-byte protobuf message,
// and fails when the median throughputs differ by more than -tolerance.
// cmd/client drives the courier-raw framework with a 5 s deadline per
// call: the calls `courier bench` makes (SendRawMessage of an argument
// encoded once, the reply not decoded, its --timeout as each call's
// deadline), so that on this 2-core box, where client CPU takes from the
// server's, what differs is how the tools count and time, not how much
// work each does per call (with courier's protobuf Call the ratio followed
// every change to either path: 0.90 before one change, 1.15 after
// another).
// By default the two run at the same time against the server, each with
// its own callers and connections, so that the rest of the machine's load
// (a shared 2-core box) hits both alike; -together=false runs them one
// after the other. The verdict is the median of the paired ratios.
// It builds the three programs itself (cmd/server, cmd/client here,
// ../cmd/courier in the main module) and stops the server it started.
//
//	cd benchmarks && go run ./cmd/clicheck            # about 45 s
//	go run ./cmd/clicheck -c 10 -pool 1 -reps 5
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/fw"
	"github.com/courier-rpc/courier/benchmarks/pb"
	"google.golang.org/protobuf/proto"
)

// callTimeout is the deadline of every call of both tools.
const callTimeout = 5 * time.Second

type config struct {
	c, pool, reps int
	d, warmup     time.Duration
	tolerance     float64
	together      bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.c, "c", 100, "concurrent callers")
	flag.IntVar(&cfg.pool, "pool", 4, "connections shared by the callers")
	flag.IntVar(&cfg.reps, "reps", 5, "repetitions of each tool (alternating; the ratio is the median of the pairs)")
	flag.DurationVar(&cfg.d, "d", 2*time.Second, "measured window of each run")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up before each window")
	flag.Float64Var(&cfg.tolerance, "tolerance", 0.10, "largest accepted |courier bench / cmd/client - 1|")
	flag.BoolVar(&cfg.together, "together", true, "run both tools at the same time (each with -c callers on -pool connections), so that the machine's other load hits both alike; false: one after the other, alternating the order")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "clicheck:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	dir, err := os.MkdirTemp("", "clicheck")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := func(name string) string { return filepath.Join(dir, name) }
	for _, b := range [][]string{
		{".", bin("server"), "./cmd/server"},
		{".", bin("client"), "./cmd/client"},
		{"..", bin("courier"), "./cmd/courier"},
	} {
		if out, err := exec.Command("go", "build", "-C", b[0], "-o", b[1], b[2]).CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", b[2], err, out)
		}
	}
	payload, err := proto.Marshal(pb.NewArgs(0))
	if err != nil {
		return err
	}
	msgFile := bin("message.bin")
	if err := os.WriteFile(msgFile, payload, 0o600); err != nil {
		return err
	}
	addr, stop, err := startServer(bin("server"))
	if err != nil {
		return err
	}
	defer stop()
	ours, theirs := make([]float64, cfg.reps), make([]float64, cfg.reps)
	for rep := range cfg.reps {
		var errs [2]error
		runs := []func(){
			func() { theirs[rep], errs[0] = runClient(cfg, bin("client"), addr) },
			func() { ours[rep], errs[1] = runCourier(cfg, bin("courier"), addr, msgFile) },
		}
		if rep%2 == 1 {
			runs[0], runs[1] = runs[1], runs[0]
		}
		if cfg.together {
			var wg sync.WaitGroup
			for _, f := range runs {
				wg.Go(f)
			}
			wg.Wait()
		} else {
			for _, f := range runs {
				f()
			}
		}
		if err := errors.Join(errs[:]...); err != nil {
			return err
		}
	}
	ratios := make([]float64, len(ours))
	for i := range ours {
		ratios[i] = ours[i] / theirs[i]
	}
	mo, mt, ratio := median(ours), median(theirs), median(ratios)
	fmt.Printf("c=%d pool=%d window=%v reps=%d together=%v\n", cfg.c, cfg.pool, cfg.d, cfg.reps, cfg.together)
	fmt.Printf("benchmarks/cmd/client  %8.0f calls/s  (runs %s)\n", mt, list(theirs))
	fmt.Printf("courier bench          %8.0f calls/s  (runs %s)\n", mo, list(ours))
	fmt.Printf("ratio (median of the paired runs) %.3f (pairs %s; tolerance ±%.0f%%)\n", ratio, list3(ratios), 100*cfg.tolerance)
	if ratio < 1-cfg.tolerance || ratio > 1+cfg.tolerance {
		return fmt.Errorf("courier bench and benchmarks/cmd/client disagree by %.1f%%", 100*(ratio-1))
	}
	return nil
}

// startServer starts the courier benchmark server and returns its RPC
// address and a function that stops it (SIGTERM, then SIGKILL after 10 s).
func startServer(path string) (string, func(), error) {
	cmd := exec.Command(path, "-framework", "courier", "-maxlife", "10m")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	for _, f := range strings.Fields(line) {
		if a, ok := strings.CutPrefix(f, "addr="); ok {
			return a, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("server printed %q (%v), want addr=...", line, err)
}

// output runs a program bounded in time and returns its standard output.
func output(limit time.Duration, path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", filepath.Base(path), strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func runClient(cfg config, path, addr string) (float64, error) {
	out, err := output(cfg.warmup+cfg.d+time.Minute, path, "-framework", "courier-raw", "-deadline", callTimeout.String(), "-addr", addr,
		"-c", fmt.Sprint(cfg.c), "-pool", fmt.Sprint(cfg.pool), "-d", cfg.d.String(), "-warmup", cfg.warmup.String(), "-json")
	if err != nil {
		return 0, err
	}
	var r struct {
		RPS    float64 `json:"rps"`
		Errors uint64  `json:"errors"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.RPS <= 0 || r.Errors > 0 {
		return 0, fmt.Errorf("cmd/client result %q: %v", out, errors.Join(err, fmt.Errorf("%d errors", r.Errors)))
	}
	return r.RPS, nil
}

func runCourier(cfg config, path, addr, msgFile string) (float64, error) {
	out, err := output(cfg.warmup+cfg.d+time.Minute, path, "bench", "--addr", "tcp@"+addr, "--timeout", callTimeout.String(),
		"-c", fmt.Sprint(cfg.c), "--conns", fmt.Sprint(cfg.pool), "-d", cfg.d.String(), "--warmup", cfg.warmup.String(),
		"--ser", "protobuf", "--file", msgFile, "-o", "json", "--progress", "none", fw.Service+"."+fw.Method)
	if err != nil {
		return 0, err
	}
	var r struct {
		Throughput float64 `json:"throughput"`
		Errors     int64   `json:"errors"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Throughput <= 0 || r.Errors > 0 {
		return 0, fmt.Errorf("courier bench result %q: %v", out, errors.Join(err, fmt.Errorf("%d errors", r.Errors)))
	}
	return r.Throughput, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func list(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}

func list3(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}
