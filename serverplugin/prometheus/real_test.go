package prometheus

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
)

// prometheusBin returns the Prometheus binary: $COURIER_PROMETHEUS_BIN or
// "prometheus" on PATH (scripts/testenv.sh install puts Debian's there).
func prometheusBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("COURIER_PROMETHEUS_BIN")
	if bin == "" {
		bin = "prometheus"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		msg := fmt.Sprintf("no Prometheus binary (%v): run scripts/testenv.sh install or set COURIER_PROMETHEUS_BIN", err)
		if os.Getenv("COURIER_REQUIRE_ENGINES") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPrometheus runs a Prometheus server that scrapes target every
// second and returns its HTTP address; it is killed at cleanup.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin := prometheusBin(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: courier
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // by PID: the one this test started
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	return addr
}

// queryScalar asks Prometheus' HTTP API for an instant vector query
// expected to have at most one sample; ok is false when it has none.
func queryScalar(hc *http.Client, promAddr, q string) (v float64, ok bool, err error) {
	res, err := hc.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, false, fmt.Errorf("decode %s: %w", body, err)
	}
	if out.Status != "success" {
		return 0, false, fmt.Errorf("query %s: %s", q, body)
	}
	if len(out.Data.Result) == 0 {
		return 0, false, nil
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, err = strconv.ParseFloat(s, 64)
	return v, err == nil, err
}

// A real Prometheus server scrapes a courier server's port; its query API
// then reports the exact number of Arith/Mul calls made. Takes about 3-6 s.
func TestRealPrometheusScrape(t *testing.T) {
	_, _, addr := startServer(t)
	promAddr := startPrometheus(t, addr)
	const calls = 1234
	c := dial(t, addr)
	for i := range calls {
		if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: i, B: 2}, &testutils.Reply{}); err != nil {
			t.Fatal(err)
		}
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	q := `sum(rpc_server_call_duration_seconds_count{rpc_method="Arith/Mul"})`
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, ok, err := queryScalar(hc, promAddr, q)
		if ok && v == calls {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus reports %v (present %v, err %v) for %s, want %d", v, ok, err, q, calls)
		}
		time.Sleep(200 * time.Millisecond) // polling Prometheus' API until it has scraped
	}
}
