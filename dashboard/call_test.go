package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/internal/registryadmin"
)

func TestCallAndDescribe(t *testing.T) {
	t.Parallel()
	key := startServer(t)
	fa := newFakeAdmin(registryadmin.Service{Name: "Arith", Servers: []registryadmin.Server{srv(key, "")}})
	d, ts := startDash(t, Config{}, fa, nil)
	eventually(t, "first list", listed(d))

	r := do(t, ts, "GET", "/api/describe?server="+key+"&service=Arith", nil)
	if r.status != 200 || !strings.Contains(string(r.raw), `"reqSchema"`) || !strings.Contains(string(r.raw), `"Mul"`) {
		t.Fatalf("describe = %d %s", r.status, r.raw)
	}
	if r := do(t, ts, "GET", "/api/describe?server=tcp@127.0.0.1:9&service=Arith", nil); r.status != 404 {
		t.Fatalf("describe of an unlisted server = %d %s", r.status, r.raw)
	}

	call := func(extra map[string]any) resp {
		b := map[string]any{"server": key, "service": "Arith", "method": "Mul", "args": `{"A":6,"B":7}`}
		for k, v := range extra {
			b[k] = v
		}
		return do(t, ts, "POST", "/api/call", b)
	}
	for _, ser := range []string{"json", "msgpack", ""} {
		r := call(map[string]any{"serialize": ser, "metadata": map[string]string{"k": "v"}, "timeoutMs": 2000})
		if r.status != 200 || fmt.Sprint(r.body["reply"]) != "map[C:42]" || r.body["durationMs"] == nil {
			t.Fatalf("call with %q = %d %s", ser, r.status, r.raw)
		}
	}
	r = call(map[string]any{"method": "Div", "args": `{"A":1,"B":0}`})
	if r.status != 200 || !strings.Contains(fmt.Sprint(r.body["error"]), "divide by zero") || r.body["codeName"] == nil {
		t.Fatalf("failing call = %d %s", r.status, r.raw)
	}
	r = call(map[string]any{"method": "Nope"})
	if r.status != 200 || r.body["error"] == nil {
		t.Fatalf("unknown method = %d %s", r.status, r.raw)
	}
	bad := []struct {
		extra  map[string]any
		status int
		field  string
	}{
		{map[string]any{"args": `{"A":`}, 400, "args"},
		{map[string]any{"args": `{} {}`}, 400, "args"},
		{map[string]any{"serialize": "xml"}, 400, "serialize"},
		{map[string]any{"timeoutMs": -5}, 400, "timeoutMs"},
		{map[string]any{"method": ""}, 400, "method"},
		{map[string]any{"server": "tcp@127.0.0.1:9"}, 404, "server"},
	}
	for _, c := range bad {
		r := call(c.extra)
		if r.status != c.status || r.body["field"] != c.field {
			t.Errorf("call with %v = %d %s; want %d field %s", c.extra, r.status, r.raw, c.status, c.field)
		}
	}
}

func TestAddrMode(t *testing.T) {
	t.Parallel()
	key := startServer(t)
	d, ts := startDash(t, Config{Addr: key}, nil, nil)
	eventually(t, "services from reflection", listed(d))
	st := d.state()
	if st.Writable || len(st.Services) != 1 || st.Services[0].Name != "Arith" || st.Services[0].Servers[0].Key != key {
		t.Fatalf("state = %+v", st)
	}
	r := do(t, ts, "POST", "/api/update", map[string]any{"service": "Arith", "server": key, "change": map[string]any{"active": false}, "confirm": true})
	if r.status != 503 || !strings.Contains(fmt.Sprint(r.body["error"]), "no registry") {
		t.Fatalf("update without a registry = %d %s", r.status, r.raw)
	}
	_, ts2 := startDash(t, Config{Addr: "tcp@127.0.0.1:1"}, nil, nil)
	eventually(t, "error for an unreachable server", func() bool {
		r := do(t, ts2, "GET", "/api/state", nil)
		return strings.Contains(fmt.Sprint(r.body["error"]), "tcp@127.0.0.1:1")
	})
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := "# TYPE rpc_server_call_duration_seconds histogram\n" +
		`rpc_server_call_duration_seconds_bucket{rpc_method="A/B",le="0.1"} 2` + "\n" +
		`rpc_server_call_duration_seconds_bucket{rpc_method="A/B",le="+Inf"} 4` + "\n" +
		`rpc_server_call_duration_seconds_count{rpc_method="A/B"} 4 1700000000000` + "\n" +
		`rpc_server_call_duration_seconds_count{error_type="x\"y",rpc_method="A/B"} 1` + "\n" +
		"other_metric 5\n"
	snap, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	mc := snap["A/B"]
	if mc == nil || mc.count != 5 || mc.errors != 1 || mc.buckets[0.1] != 2 {
		t.Fatalf("snapshot = %+v", mc)
	}
	if q := quantile(0.5, mc.buckets); q != 0.1 {
		t.Fatalf("p50 = %v", q)
	}
	if q := quantile(0.99, mc.buckets); q != 0.1 {
		t.Fatalf("p99 in +Inf answers the largest finite bound: %v", q)
	}
	for _, bad := range []string{
		`rpc_server_call_duration_seconds_count{rpc_method="A/B} 1`,
		`rpc_server_call_duration_seconds_count{rpc_method="A/B"} x`,
		`rpc_server_call_duration_seconds_bucket{le="z"} 1`,
		`rpc_server_call_duration_seconds_count{rpc_method="A/B"}`,
	} {
		if _, err := parseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("parseMetrics(%q) accepted it", bad)
		}
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines 5\n")); err != errNoHistogram {
		t.Errorf("a page without the histogram: %v", err)
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	key := startServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{Addr: key, Listen: "127.0.0.1:0", OnListen: func(a net.Addr) { addrc <- a }})
	}()
	var url string
	select {
	case a := <-addrc:
		url = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	for _, path := range []string{"/", "/app.js", "/detail.js", "/style.css"} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || len(body) == 0 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("GET %s: %d, %d bytes, CSP %q", path, res.StatusCode, len(body), res.Header.Get("Content-Security-Policy"))
		}
		if path == "/" && (strings.Contains(string(body), "http://") || strings.Contains(string(body), "https://")) {
			t.Fatal("the page names an external URL; it must work offline")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if err := Serve(t.Context(), Config{Addr: key, Listen: "127.0.0.1:-1"}); err == nil || errors.Is(err, ErrConfig) {
		t.Fatalf("Serve on a bad address: %v", err)
	}
}
