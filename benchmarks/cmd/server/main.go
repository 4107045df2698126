// Command server serves the benchmark service with one framework and a small
// HTTP stats endpoint on a second port. It prints one line
//
//	addr=HOST:PORT stats=HOST:PORT pid=PID
//
// once both listen, and runs until SIGTERM/SIGINT or -maxlife elapses.
// With -cpuprofile, the CPU profile covers the window between the load
// generator's /begin and /end requests; -memprofile writes the allocation
// profile and -goroutines a goroutine dump at /end.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/fw"
	"github.com/courier-rpc/courier/benchmarks/internal/stats"
)

func main() {
	name := flag.String("framework", "courier", "framework: one of "+fmt.Sprint(fw.Names()))
	addr := flag.String("addr", "127.0.0.1:0", "address to serve RPC on")
	statsAddr := flag.String("stats", "127.0.0.1:0", "address to serve /stats, /begin, /end on")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the /begin../end window to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile (allocations since start; in-use memory after a GC) to this file at /end")
	goroutines := flag.String("goroutines", "", "write a goroutine dump (grouped by stack) to this file at /end")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate (e.g. 1: every allocation, for exact in-use bytes per idle connection; slows the server); 0 keeps the default")
	maxlife := flag.Duration("maxlife", 30*time.Minute, "exit after this long, whatever happens")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if err := run(*name, *addr, *statsAddr, *cpuprofile, *memprofile, *goroutines, *maxlife); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(name, addr, statsAddr, cpuprofile, memprofile, goroutines string, maxlife time.Duration) error {
	f, err := fw.Get(name)
	if err != nil {
		return err
	}
	srv, err := f.NewServer()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	sln, err := net.Listen("tcp", statsAddr)
	if err != nil {
		return err
	}
	prof := &profiler{path: cpuprofile, heapPath: memprofile, goroutinePath: goroutines}
	hs := &http.Server{Handler: stats.Handler(stats.Hooks{Begin: prof.start, End: prof.stop}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(sln) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Printf("addr=%s stats=%s pid=%d\n", ln.Addr(), sln.Addr(), os.Getpid())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	var result error
	select {
	case <-sig:
	case <-time.After(maxlife):
		result = errors.New("maxlife reached")
	case err := <-serveErr:
		result = fmt.Errorf("serve: %w", err)
	}
	_ = prof.stop()
	_ = hs.Close()
	_ = srv.Close()
	return result
}

// profiler runs at most one CPU profile at a time; at the first /end it
// writes the heap profile and the goroutine dump when asked to.
type profiler struct {
	path          string
	heapPath      string
	goroutinePath string
	heapDone      bool
	mu            sync.Mutex
	f             *os.File
}

func (p *profiler) start() error {
	if p.path == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		return nil
	}
	f, err := os.Create(p.path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.f = f
	return nil
}

func (p *profiler) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.heapPath != "" && !p.heapDone {
		p.heapDone = true
		if err := writeHeap(p.heapPath); err != nil {
			return err
		}
	}
	if p.goroutinePath != "" {
		path := p.goroutinePath
		p.goroutinePath = ""
		if err := writeProfile(path, "goroutine", 1); err != nil {
			return err
		}
	}
	if p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	return err
}

// writeHeap writes the allocation profile to path after a garbage
// collection, so that its in-use samples are those of now.
func writeHeap(path string) error {
	runtime.GC()
	return writeProfile(path, "allocs", 0)
}

func writeProfile(path, name string, debug int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
