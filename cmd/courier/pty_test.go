package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tmux runs tmux on a private server socket; t.Cleanup kills that server
// (only the one this test started).
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("COURIER_REQUIRE_TMUX") != "" {
			t.Fatal("tmux not found and COURIER_REQUIRE_TMUX is set: run scripts/cli-tools.sh")
		}
		t.Skip("tmux not found: install it (scripts/cli-tools.sh does), or run make test")
	}
	tm := &tmux{t: t, socket: fmt.Sprintf("courier-cli-test-%d", os.Getpid())}
	t.Cleanup(func() { _, _ = tm.run("kill-server") })
	return tm
}

func (tm *tmux) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", tm.socket, "-f", "/dev/null"}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitScreen polls the pane until ok accepts its text, for at most 20 s.
func (tm *tmux) waitScreen(what string, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		screen, err := tm.run("capture-pane", "-p", "-t", "bench")
		if err == nil && ok(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%s: not seen in 20 s; screen:\n%s (err %v)", what, screen, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the terminal, bounded
	}
}

// TestBenchLiveLine runs bench in a tmux pane, a real pseudo-terminal:
// while it runs, one progress line is redrawn in place; at the end it is
// cleared and the result printed.
func TestBenchLiveLine(t *testing.T) {
	tm := newTmux(t)
	ts := startServer(t)
	script := fmt.Sprintf("%s bench -a %s -c 4 -d 3s Arith.Mul '{\"A\":2,\"B\":3}'; echo exit=$?; sleep 60", binary, ts.addr)
	if out, err := tm.run("new-session", "-d", "-s", "bench", "-x", "160", "-y", "50", "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	live := func(screen string) int {
		n := 0
		for _, l := range strings.Split(screen, "\n") {
			if strings.Contains(l, "rate ") && strings.Contains(l, "p99 ") && strings.Contains(l, "errors 0") {
				n++
			}
		}
		return n
	}
	var seen []string
	tm.waitScreen("two different live lines", func(screen string) bool {
		if live(screen) > 1 {
			t.Fatalf("more than one progress line on the terminal:\n%s", screen)
		}
		if live(screen) == 1 {
			line := strings.TrimSpace(screen)
			if len(seen) == 0 || seen[len(seen)-1] != line {
				seen = append(seen, line)
			}
		}
		return len(seen) >= 2
	})
	screen := tm.waitScreen("the end of the run", func(s string) bool { return strings.Contains(s, "exit=") })
	if !strings.Contains(screen, "exit=0") || !strings.Contains(screen, "histogram:") || !strings.Contains(screen, "p99.9 ") {
		t.Fatalf("final screen:\n%s", screen)
	}
	if live(screen) != 0 {
		t.Fatalf("the live line was not cleared:\n%s", screen)
	}
}
