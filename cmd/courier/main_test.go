package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCall(t *testing.T) {
	ts := startServer(t)
	args := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(args, []byte(`{"A":5,"B":5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"operand", "", []string{"call", "--addr", ts.addr, "Arith.Mul", `{"A":6,"B":7}`}, "{\n  \"C\": 42\n}\n"},
		{"single-dash flags", "", []string{"call", "-addr", ts.addr, "-timeout", "3s", "Arith.Mul", `{"A":2,"B":3}`}, "\"C\": 6"},
		{"stdin", `{"A":3,"B":3}`, []string{"call", "-a", ts.addr, "Arith.Mul", "-"}, "\"C\": 9"},
		{"file", "", []string{"call", "-a", ts.addr, "Arith.Mul", "@" + args}, "\"C\": 25"},
		{"--file", "", []string{"call", "-a", ts.addr, "-f", args, "Arith.Add"}, "\"C\": 10"},
		{"metadata", "", []string{"call", "-a", ts.addr, "-H", "tenant=blue", "-H", "trace: on", "-v", "Meta.Get"}, "# served-by: meta\n{\n  \"tenant\": \"blue\",\n  \"trace\": \"on\"\n}"},
		{"gzip", "", []string{"call", "-a", ts.addr, "--gzip", "Arith.Mul", `{"A":4,"B":4}`}, "\"C\": 16"},
		{"msgpack", "", []string{"call", "-a", ts.addr, "--ser", "msgpack", "Arith.Mul", `{"A":-3,"B":5}`}, "\"C\": -15"},
		{"raw", "", []string{"call", "-a", ts.addr, "--ser", "raw", "Echo.Echo", "plain bytes"}, "plain bytes\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.stdin, tt.args...)
			if r.code != 0 || !strings.Contains(r.stdout, tt.want) || r.stderr != "" {
				t.Fatalf("code %d stdout %q stderr %q, want %q", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

func TestCallOneway(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "call", "-a", ts.addr, "--oneway", "Meta.Touch")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("oneway: %+v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ts.meta.oneway.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the oneway call never reached the server")
		}
		time.Sleep(10 * time.Millisecond) // polling the handler's counter, bounded
	}
}

// TestErrors: every failure prints one line on stderr and exits with its
// documented code.
func TestErrors(t *testing.T) {
	ts := startServer(t)
	ln := "tcp@127.0.0.1:1" // nothing listens on port 1
	healthless := startServer(t, serverOpts{noHealth: true})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"service error with code", []string{"call", "-a", ts.addr, "Arith.Div", `{"A":1,"B":0}`}, exitRemote, "divide by zero"},
		{"unknown service", []string{"call", "-a", ts.addr, "Nope.Nothing"}, exitRemote, "error unimplemented (12): rpcx: can't find service Nope"},
		{"unknown method", []string{"call", "-a", ts.addr, "Arith.Nothing"}, exitRemote, "Nothing"},
		{"bad JSON", []string{"call", "-a", ts.addr, "Arith.Mul", "{not json"}, exitUsage, "not valid JSON"},
		{"bad target", []string{"call", "-a", ts.addr, "NoDot"}, exitUsage, "want Service.Method"},
		{"bad serialize type", []string{"call", "--ser", "yaml", "A.B"}, exitUsage, "unknown serialize type"},
		{"bad header", []string{"call", "-H", "novalue", "A.B"}, exitUsage, "want key=value"},
		{"missing file", []string{"call", "A.B", "@/nonexistent/args.json"}, exitUsage, "no such file"},
		{"unknown flag", []string{"call", "--frobnicate", "A.B"}, exitUsage, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"no server", []string{"call", "-a", ln, "-t", "2s", "Arith.Mul", "{}"}, exitUnreachable, "connect " + ln},
		{"tls to a plain server", []string{"call", "-a", ts.addr, "-t", "2s", "--tls-insecure", "Arith.Mul", "{}"}, exitUnreachable, "connect"},
		{"bad bench flags", []string{"bench", "-c", "0", "A.B"}, exitUsage, "-c and --conns"},
		{"health not serving", []string{"health", "-a", ts.addr, "Meta"}, exitNotServing, "service Meta is NOT_SERVING"},
		{"health without the service", []string{"health", "-a", healthless.addr}, exitRemote, "does the server register the health service?"},
		{"health unknown", []string{"health", "-a", ts.addr, "Ghost"}, exitNotServing, "SERVICE_UNKNOWN"},
		{"bad output", []string{"list", "-o", "yaml"}, exitUsage, "unknown --output"},
		{"bad registry", []string{"list", "--registry", "redis://x:1/a"}, exitUsage, "bad registry URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %+v", r.code, tt.code, r)
			}
			if tt.code == exitUsage && strings.Contains(tt.name, "unknown") && !strings.Contains(tt.name, "service") {
				if !strings.Contains(r.stderr, tt.want) {
					t.Fatalf("stderr %q lacks %q", r.stderr, tt.want)
				}
				return // cobra's errors add a line pointing at --help
			}
			oneStderrLine(t, r, tt.want)
		})
	}
}

func TestTLS(t *testing.T) {
	files := writePEM(t, t.TempDir())
	ts := startServer(t, serverOpts{tls: files.server})
	r := cli(t, "", "call", "-a", ts.addr, "--tls-ca", files.ca, "--tls-cert", files.cert, "--tls-key", files.key, "Arith.Mul", `{"A":7,"B":6}`)
	if r.code != 0 || !strings.Contains(r.stdout, `"C": 42`) {
		t.Fatalf("mTLS call: %+v", r)
	}
	r = cli(t, "", "call", "-a", ts.addr, "-t", "3s", "--tls-ca", files.ca, "Arith.Mul", `{"A":7,"B":6}`)
	if r.code != exitUnreachable {
		t.Fatalf("without a client certificate: %+v", r)
	}
	oneStderrLine(t, r, "")
	r = cli(t, "", "call", "-a", ts.addr, "-t", "3s", "--tls", "Arith.Mul", `{"A":7,"B":6}`)
	if r.code != exitUnreachable || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("unknown CA: %+v", r)
	}
	r = cli(t, "", "call", "-a", ts.addr, "--tls-cert", files.cert, "Arith.Mul")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--tls-cert and --tls-key go together") {
		t.Fatalf("cert without key: %+v", r)
	}
}

func TestListDescribe(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "list", "-a", ts.addr)
	if r.code != 0 || !strings.Contains(r.stdout, "  Arith.Mul(Args) Reply\n") || !strings.Contains(r.stdout, "Reflection") {
		t.Fatalf("list: %+v", r)
	}
	r = cli(t, "", "list", "-a", ts.addr, "-o", "json")
	var list []struct{ Name string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list) < 3 {
		t.Fatalf("list -o json: %+v", r)
	}
	r = cli(t, "", "describe", "-a", ts.addr, "Arith")
	if r.code != 0 || !strings.Contains(r.stdout, "Mul(Args) Reply") || !strings.Contains(r.stdout, `"properties"`) {
		t.Fatalf("describe: %+v", r)
	}
	r = cli(t, "", "describe", "-a", ts.addr, "Nope")
	if r.code != exitRemote {
		t.Fatalf("describe unknown: %+v", r)
	}
	oneStderrLine(t, r, "service not found")
}

func TestHealth(t *testing.T) {
	ts := startServer(t)
	for _, args := range [][]string{{"health", "-a", ts.addr}, {"health", "-a", ts.addr, "Arith"}} {
		r := cli(t, "", args...)
		if r.code != 0 || r.stdout != "SERVING\n" {
			t.Fatalf("%v: %+v", args, r)
		}
	}
}

func TestHelpAndCompletion(t *testing.T) {
	for _, c := range []string{"call", "list", "describe", "health", "bench", "gateway", "dashboard", "completion"} {
		r := cli(t, "", c, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "courier "+c) {
			t.Errorf("%s --help: %+v", c, r)
		}
	}
	r := cli(t, "", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Exit codes:") {
		t.Errorf("--help: %+v", r)
	}
	for shell, want := range map[string]string{"bash": "__start_courier", "zsh": "#compdef courier", "fish": "complete -c courier"} {
		r := cli(t, "", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: code %d, %d bytes, stderr %q", shell, r.code, len(r.stdout), r.stderr)
		}
	}
	r = cli(t, "", "__complete", "be")
	if r.code != 0 || !strings.Contains(r.stdout, "bench") {
		t.Errorf("completing 'be': %+v", r)
	}
}

func TestDashboard(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "dashboard", "--addr", ts.addr, "--listen", "127.0.0.1:0", "--scrape-interval", "1s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "dashboard on http://") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("first line %q (%v), stderr %q", line, err, stderr.String())
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "dashboard on "))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for { // the dashboard reads the server's reflection in the background
		res, err := hc.Get(url + "api/state")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 && strings.Contains(string(body), `"Arith"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/state: %d %s", res.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond) // polling the dashboard, bounded
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dashboard after SIGTERM: %v, stderr %q", err, stderr.String())
	}
	r := cli(t, "", "dashboard")
	if r.code != exitUsage {
		t.Fatalf("dashboard without a source: %+v", r)
	}
	oneStderrLine(t, r, "set exactly one of the registry URL and the server address")
}
