package scale

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/server"
)

// EnvChild carries a child process's configuration (JSON); a program that
// finds it set runs as a server-hosting child (see ChildMain).
const EnvChild = "COURIER_SCALE_CHILD"

// childConfig is what the coordinator tells a child process.
type childConfig struct {
	Registry string        `json:"registry"`
	Addrs    []string      `json:"addrs"`
	Base     string        `json:"base"`
	Service  string        `json:"service"`
	Count    int           `json:"count"`
	TTL      time.Duration `json:"ttl"`
}

// ChildMain runs the server-hosting child when EnvChild is set and exits;
// otherwise it returns at once. Call it first in main or TestMain. The
// child starts Count servers, each on its own loopback listener with its
// own register plugin, prints "REG <key> <unix ns before Register>" per
// server and "READY" at the end, and deregisters and exits when its stdin
// closes (or dies with SIGKILL).
func ChildMain() {
	raw := os.Getenv(EnvChild)
	if raw == "" {
		return
	}
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "scale child: bad %s: %v\n", EnvChild, err)
		os.Exit(2)
	}
	if err := runChild(cfg, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "scale child: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// hosted is one server of a process with its register plugin.
type hosted struct {
	key    string
	s      *server.Server
	plugin regPlugin
}

// startHosted serves a new server on a loopback port and registers it.
// It returns the server and the time just before the registration.
func startHosted(cfg childConfig) (*hosted, int64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	s := server.NewServer()
	go s.ServeListener("tcp", ln)
	select {
	case <-s.Started:
	case <-time.After(10 * time.Second):
		s.Close()
		return nil, 0, errors.New("server did not start within 10 s")
	}
	key := "tcp@" + ln.Addr().String()
	p, err := newPlugin(cfg.Registry, key, cfg.Addrs, cfg.Base, cfg.TTL)
	if err == nil {
		err = p.Start()
	}
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	s.Plugins.Add(p)
	t0 := time.Now().UnixNano()
	if err := s.RegisterName(cfg.Service, new(testutils.Arith), ""); err != nil {
		p.Stop()
		s.Close()
		return nil, 0, err
	}
	return &hosted{key: key, s: s, plugin: p}, t0, nil
}

func (h *hosted) stop() {
	h.plugin.Stop()
	h.s.Close()
}

func runChild(cfg childConfig, in io.Reader, out io.Writer) error {
	w := bufio.NewWriter(out)
	var servers []*hosted
	defer func() {
		for _, h := range servers {
			h.stop()
		}
	}()
	for i := 0; i < cfg.Count; i++ {
		h, t0, err := startHosted(cfg)
		if err != nil {
			return fmt.Errorf("server %d: %w", i, err)
		}
		servers = append(servers, h)
		fmt.Fprintf(w, "REG %s %d\n", h.key, t0)
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "READY")
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, in) // until the coordinator closes stdin
	return err
}

// child is the coordinator's handle on one child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready chan error // receives nil after READY, or the failure

	mu   sync.Mutex
	keys []string
	regs map[string]int64
}

// startChild starts exe (with args) as a child hosting cfg.Count servers.
func startChild(exe string, args []string, cfg childConfig) (*child, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), EnvChild+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, ready: make(chan error, 1), regs: make(map[string]int64)}
	go c.read(stdout)
	return c, nil
}

// read parses the child's lines until READY or the end of its output.
func (c *child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && f[0] == "READY":
			c.ready <- nil
			go io.Copy(io.Discard, r) //nolint:errcheck // keep the pipe drained
			return
		case len(f) == 3 && f[0] == "REG":
			t, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				continue
			}
			c.mu.Lock()
			c.keys = append(c.keys, f[1])
			c.regs[f[1]] = t
			c.mu.Unlock()
		}
	}
	c.ready <- fmt.Errorf("child %d ended before READY: %v", c.cmd.Process.Pid, sc.Err())
}

// registered returns the keys and registration times reported so far.
func (c *child) registered() ([]string, map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	regs := make(map[string]int64, len(c.regs))
	for k, v := range c.regs {
		regs[k] = v
	}
	return append([]string(nil), c.keys...), regs
}

// kill sends SIGKILL to the child (by its PID) and reaps it.
func (c *child) kill() {
	c.cmd.Process.Kill() //nolint:errcheck // already gone is fine
	c.cmd.Wait()         //nolint:errcheck // killed: the status is known
}

// stop closes the child's stdin so it deregisters and exits; after limit it
// is killed.
func (c *child) stop(limit time.Duration) {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }() //nolint:errcheck // status unused
	select {
	case <-done:
	case <-time.After(limit):
		c.cmd.Process.Kill() //nolint:errcheck // already gone is fine
		<-done
	}
}
