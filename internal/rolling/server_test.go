package rolling

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// serveEnv, when set to an address, makes the test binary a server process
// (see TestMain).
const serveEnv = "COURIER_ROLLING_SERVE"

// etcdEnv, when set to "basePath|endpoint,endpoint", makes a server process
// register in etcd (build tag etcd) and shut down in the readiness order
// with a one-second propagation delay.
const etcdEnv = "COURIER_ROLLING_ETCD"

// Args is the argument of every method.
type Args struct{ A, B int }

// Reply is the reply of Mul.
type Reply struct{ C int }

// Roll is the service the server processes run.
type Roll struct{ notes atomic.Int64 }

// Mul multiplies.
func (r *Roll) Mul(ctx context.Context, a *Args, reply *Reply) error {
	reply.C = a.A * a.B
	return nil
}

// Note counts a oneway message.
func (r *Roll) Note(ctx context.Context, a *Args, reply *Reply) error {
	r.notes.Add(1)
	return nil
}

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		os.Exit(serveProcess(addr))
	}
	os.Exit(m.Run())
}

// serveProcess serves Roll on addr, prints "ready" once listening and, on
// SIGTERM, shuts down gracefully and prints "notes N" (the oneway messages
// it ran). It is the body of a server process.
func serveProcess(addr string) int {
	log.SetDummyLogger()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var opts []server.OptionFn
	base, eps, withEtcd := strings.Cut(os.Getenv(etcdEnv), "|")
	if withEtcd {
		opts = append(opts, server.WithShutdownDelay(time.Second))
	}
	s := server.NewServer(opts...)
	if withEtcd {
		p := &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: "tcp@" + addr, EtcdServers: strings.Split(eps, ","),
			BasePath: base, ServerStarted: s.Started, Expired: 5 * time.Second}
		if err := p.Start(); err != nil {
			fmt.Println("error", err)
			return 1
		}
		defer p.Stop()
		s.Plugins.Add(p)
	}
	svc := &Roll{}
	if err := s.RegisterName("Roll", svc, ""); err != nil {
		fmt.Println("error", err)
		return 1
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve("tcp", addr) }()
	select {
	case <-s.Started:
	case err := <-served:
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("ready")
	<-term
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("notes", svc.notes.Load())
	return 0
}

// proc is a running server process.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
}

// startProc starts a server process on addr and waits for "ready".
func startProc(t *testing.T, addr string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), serveEnv+"="+addr), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 4)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line := p.next(t, 20*time.Second); line != "ready" {
		t.Fatalf("server on %s: %q", addr, line)
	}
	return p
}

// next returns the process's next output line within d.
func (p *proc) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("server process %d ended without output", p.cmd.Process.Pid)
		}
		return line
	case <-time.After(d):
		t.Fatalf("server process %d said nothing within %v", p.cmd.Process.Pid, d)
	}
	return ""
}

// stop sends SIGTERM and returns the number of oneway messages the
// process ran.
func (p *proc) stop(t *testing.T) int64 {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	line := p.next(t, 15*time.Second)
	n, err := strconv.ParseInt(strings.TrimPrefix(line, "notes "), 10, 64)
	if err != nil {
		t.Fatalf("server process %d: %q", p.cmd.Process.Pid, line)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server process %d: %v", p.cmd.Process.Pid, err)
	}
	return n
}
