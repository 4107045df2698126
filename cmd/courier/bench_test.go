package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchPlain: without a terminal the progress is plain lines on
// stderr and the result, with its histogram, goes to stdout.
func TestBenchPlain(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "bench", "-a", ts.addr, "-c", "8", "--conns", "2", "-d", "1500ms", "--interval", "300ms", "Arith.Mul", `{"A":2,"B":3}`)
	if r.code != 0 {
		t.Fatalf("bench: %+v", r)
	}
	for _, want := range []string{"Arith.Mul: 8 callers on 2 connection(s), closed loop", "errors 0", "p50 ", "p90 ", "p99 ", "p99.9 ", "max ", "histogram:", "  <= "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) < 2 || strings.Contains(r.stderr, "\r") || strings.Contains(r.stderr, "\033") {
		t.Fatalf("want plain progress lines on stderr, got %q", r.stderr)
	}
	for _, l := range lines {
		if !strings.Contains(l, "calls ") || !strings.Contains(l, "rate ") || !strings.Contains(l, "p99 ") {
			t.Errorf("progress line %q", l)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "bench", "-a", ts.addr, "-c", "4", "-n", "500", "-o", "json", "--progress", "none", "Meta.Flaky")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("bench: %+v", r)
	}
	var res benchJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v in %q", err, r.stdout)
	}
	// Flaky fails every second call; the first call (the check) succeeded.
	if res.Calls != 500 || res.Errors != 250 || res.ErrorsByCode["resource_exhausted"] != 250 || res.Mode != "closed" {
		t.Fatalf("result %+v", res)
	}
	for _, q := range []string{"p50", "p90", "p99", "p99.9", "max"} {
		if res.LatencyUs[q] <= 0 {
			t.Errorf("latency %s = %v", q, res.LatencyUs[q])
		}
	}
	var n int64
	for _, b := range res.Histogram {
		n += b.Count
	}
	if n != 500 {
		t.Errorf("histogram holds %d calls, want 500", n)
	}
}

// TestBenchOpenLoop: --rate paces the calls; 200 calls at 400/s take about
// half a second.
func TestBenchOpenLoop(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "bench", "-a", ts.addr, "--rate", "400", "-n", "200", "-c", "20", "-o", "json", "--progress", "none", "Arith.Add", `{"A":1,"B":2}`)
	var res benchJSON
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil {
		t.Fatalf("bench: %+v", r)
	}
	if res.Mode != "open" || res.Calls != 200 || res.Errors != 0 || res.ElapsedSec < 0.4 || res.ElapsedSec > 5 {
		t.Fatalf("open loop result %+v", res)
	}
}

// TestBenchCallDeadline: every call has its own --timeout deadline, on the
// wire too; the calls that run out of it count as deadline_exceeded and
// the others still succeed.
func TestBenchCallDeadline(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "bench", "-a", ts.addr, "-t", "100ms", "-c", "2", "-n", "20", "-o", "json", "--progress", "none", "Meta.Slow")
	var res benchJSON
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil {
		t.Fatalf("bench: %+v", r)
	}
	if res.Calls != 20 || res.Errors != 10 || res.ErrorsByCode["deadline_exceeded"] != 10 {
		t.Fatalf("result %+v", res)
	}
	if res.ElapsedSec > 5 {
		t.Fatalf("10 slow calls of 100 ms took %.1fs", res.ElapsedSec)
	}
}

func TestBenchErrors(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "bench", "-a", ts.addr, "-d", "1s", "Arith.Div", `{"A":1,"B":0}`)
	if r.code != exitRemote {
		t.Fatalf("bench of a failing method: %+v", r)
	}
	oneStderrLine(t, r, "first call: error")
	r = cli(t, "", "bench", "-a", "tcp@127.0.0.1:1", "-t", "2s", "A.B")
	if r.code != exitUnreachable {
		t.Fatalf("bench without a server: %+v", r)
	}
	oneStderrLine(t, r, "connect")
}

func TestBenchMsgpack(t *testing.T) {
	ts := startServer(t)
	r := cli(t, "", "bench", "-a", ts.addr, "--ser", "msgpack", "-n", "100", "-o", "json", "--progress", "none", "Arith.Mul", `{"A":2,"B":3}`)
	var res benchJSON
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil || res.Calls != 100 || res.Errors != 0 {
		t.Fatalf("bench --ser msgpack: %+v", r)
	}
}
