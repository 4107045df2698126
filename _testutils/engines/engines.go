// Package engines gives tests the addresses of the real registry servers
// (etcd, ZooKeeper, Consul) started by scripts/testenv.sh, skips tests when
// they are not running, and drives fault injection (kill an etcd member,
// stop ZooKeeper, restart Consul) through the same script.
//
// Start the engines with
//
//	eval "$(scripts/testenv.sh up)"
//
// which exports COURIER_ETCD_ENDPOINTS, COURIER_ZK_SERVERS,
// COURIER_CONSUL_ADDR, COURIER_TESTENV_DIR and COURIER_TESTENV_SCRIPT.
// `make test-all` does that and sets COURIER_REQUIRE_ENGINES=1, which turns
// every skip into a failure so a missing engine cannot pass silently.
package engines

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Engine names accepted by Require and Addrs.
const (
	Etcd      = "etcd"
	ZooKeeper = "zookeeper"
	Consul    = "consul"
)

// Environment variables read by this package.
const (
	EnvEtcd    = "COURIER_ETCD_ENDPOINTS" // comma-separated host:port
	EnvZK      = "COURIER_ZK_SERVERS"     // comma-separated host:port
	EnvConsul  = "COURIER_CONSUL_ADDR"    // host:port of the HTTP API
	EnvRequire = "COURIER_REQUIRE_ENGINES"
	EnvDir     = "COURIER_TESTENV_DIR"
	EnvScript  = "COURIER_TESTENV_SCRIPT"
)

// ScriptTimeout bounds every call of scripts/testenv.sh made by this package.
const ScriptTimeout = 90 * time.Second

var envOf = map[string]string{Etcd: EnvEtcd, ZooKeeper: EnvZK, Consul: EnvConsul}

// Addrs returns the addresses of engine name from its environment variable,
// or nil when it is unset or name is unknown.
func Addrs(name string) []string {
	env, ok := envOf[name]
	if !ok {
		return nil
	}
	var out []string
	for _, a := range strings.Split(os.Getenv(env), ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// EtcdEndpoints returns COURIER_ETCD_ENDPOINTS split at commas.
func EtcdEndpoints() []string { return Addrs(Etcd) }

// ZKServers returns COURIER_ZK_SERVERS split at commas.
func ZKServers() []string { return Addrs(ZooKeeper) }

// ConsulAddr returns COURIER_CONSUL_ADDR, or "".
func ConsulAddr() string { return strings.TrimSpace(os.Getenv(EnvConsul)) }

// Required reports whether COURIER_REQUIRE_ENGINES=1: missing engines fail.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Require returns the addresses of engine name, or skips t with a message
// saying how to start it; with COURIER_REQUIRE_ENGINES=1 it fails t instead.
func Require(t testing.TB, name string) []string {
	t.Helper()
	env, ok := envOf[name]
	if !ok {
		t.Fatalf("engines: unknown engine %q (want %s, %s or %s)", name, Etcd, ZooKeeper, Consul)
	}
	addrs := Addrs(name)
	if len(addrs) > 0 {
		return addrs
	}
	msg := fmt.Sprintf("engines: %s not available: set %s or run `make test-all` / `eval \"$(scripts/testenv.sh up)\"`", name, env)
	if Required() {
		t.Fatalf("%s (%s=1 forbids skipping)", msg, EnvRequire)
	}
	t.Skip(msg)
	return nil
}

// RequireFaults is Require plus a check that the test env script is known
// (COURIER_TESTENV_SCRIPT or scripts/testenv.sh above the working dir), so
// the test can kill and restart servers. Without it the test is skipped (or
// fails with COURIER_REQUIRE_ENGINES=1).
func RequireFaults(t testing.TB, name string) []string {
	t.Helper()
	addrs := Require(t, name)
	if _, err := Script(); err != nil {
		if Required() {
			t.Fatalf("engines: fault injection unavailable: %v", err)
		}
		t.Skipf("engines: fault injection unavailable: %v", err)
	}
	return addrs
}

// Script returns the path of scripts/testenv.sh: COURIER_TESTENV_SCRIPT, or
// the first scripts/testenv.sh found walking up from the working directory.
func Script() (string, error) {
	if s := os.Getenv(EnvScript); s != "" {
		if _, err := os.Stat(s); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvScript, s, err)
		}
		return s, nil
	}
	p, err := FindScript("testenv.sh")
	if err != nil {
		return "", fmt.Errorf("%w (set %s)", err, EnvScript)
	}
	return p, nil
}

// FindScript returns the path of scripts/name, the first found walking up
// from the working directory (a test's package directory), or an error
// saying it was not found.
func FindScript(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/%s not found", name)
		}
		dir = parent
	}
}

// Run runs scripts/testenv.sh with args (bounded by ScriptTimeout) and
// fails t with the script's output when it fails. It returns stdout.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	script, err := Script()
	if err != nil {
		t.Fatalf("engines: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("engines: testenv.sh %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	t.Logf("engines: testenv.sh %s took %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return stdout.String()
}

// KillEtcdMember kills etcd member n (1..3) with SIGKILL; its data is kept.
func KillEtcdMember(t testing.TB, n int) { t.Helper(); Run(t, "kill-etcd-member", strconv.Itoa(n)) }

// StartEtcdMember starts etcd member n again and waits until it is healthy.
func StartEtcdMember(t testing.TB, n int) { t.Helper(); Run(t, "start-etcd-member", strconv.Itoa(n)) }

// StopEtcd stops every etcd member (SIGKILL when kill, else SIGTERM); data
// is kept.
func StopEtcd(t testing.TB, kill bool) { t.Helper(); stop(t, "stop-etcd", kill) }

// StartEtcd starts every stopped etcd member and waits until all are healthy.
func StartEtcd(t testing.TB) { t.Helper(); Run(t, "start-etcd") }

// StopZK stops ZooKeeper (SIGKILL when kill, else SIGTERM); data is kept.
func StopZK(t testing.TB, kill bool) { t.Helper(); stop(t, "stop-zk", kill) }

// stop runs the testenv.sh stop command, with --kill (SIGKILL) when kill.
func stop(t testing.TB, command string, kill bool) {
	t.Helper()
	if kill {
		Run(t, command, "--kill")
		return
	}
	Run(t, command)
}

// StartZK starts ZooKeeper again on its port and waits until it serves.
func StartZK(t testing.TB) { t.Helper(); Run(t, "start-zk") }

// RestartZK stops and starts ZooKeeper.
func RestartZK(t testing.TB) { t.Helper(); Run(t, "restart-zk") }

// StopConsul stops the Consul agent.
func StopConsul(t testing.TB) { t.Helper(); Run(t, "stop-consul") }

// StartConsul starts the Consul agent again (dev mode: it starts empty).
func StartConsul(t testing.TB) { t.Helper(); Run(t, "start-consul") }

// RestartConsul stops and starts the Consul agent.
func RestartConsul(t testing.TB) { t.Helper(); Run(t, "restart-consul") }

var prefixSeq atomic.Int64

// Prefix returns a registry base path unique to this test and run, e.g.
// "/courier-test/TestX-1700000000000-1", so tests sharing an engine never
// see each other's entries.
func Prefix(t testing.TB) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/courier-test/%s-%d-%d", name, time.Now().UnixMilli(), prefixSeq.Add(1))
}

// Helper is a child process running one test function of the current test
// binary (the os/exec helper-process pattern), used to kill a registered
// server with SIGKILL.
type Helper struct {
	Cmd  *exec.Cmd
	Line string // first stdout line, printed by the child when ready
}

// HelperEnv is set to "1" in a helper child; IsHelper reports it.
const HelperEnv = "COURIER_ENGINES_HELPER"

// IsHelper reports whether this process is a helper child.
func IsHelper() bool { return os.Getenv(HelperEnv) == "1" }

// StartHelper re-runs the test binary with -test.run=^testName$ and
// HelperEnv=1 plus env, and waits (at most wait) for its first stdout line,
// which the child prints when it is ready. The child is killed with SIGKILL
// in t.Cleanup if still running.
func StartHelper(t testing.TB, testName string, wait time.Duration, env ...string) *Helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.count=1", "-test.v=false")
	cmd.Env = append(append(os.Environ(), HelperEnv+"=1"), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("engines: helper pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("engines: start helper: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // drain so the child never blocks on stdout
		}
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("engines: helper %s exited before it was ready", testName)
		}
		return &Helper{Cmd: cmd, Line: line}
	case <-time.After(wait):
		t.Fatalf("engines: helper %s not ready after %v", testName, wait)
	}
	return nil
}

// Kill kills the helper with SIGKILL and reaps it.
func (h *Helper) Kill() error {
	if err := h.Cmd.Process.Kill(); err != nil {
		return err
	}
	_ = h.Cmd.Wait()
	return nil
}
