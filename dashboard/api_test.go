package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/courier-rpc/courier/internal/registryadmin"
)

func listed(d *dashboard) func() bool {
	return func() bool { return len(d.state().Services) > 0 }
}

func TestStateAndUpdate(t *testing.T) {
	t.Parallel()
	fa := newFakeAdmin(registryadmin.Service{Name: "Arith", Servers: []registryadmin.Server{
		srv("tcp@127.0.0.1:1001", "weight=2&group=blue&tags=a,b&latitude=1&longitude=2"),
		srv("unix@/tmp/x.sock", "state=inactive"),
	}})
	d, ts := startDash(t, Config{}, fa, nil)
	eventually(t, "first list", listed(d))
	st := do(t, ts, "GET", "/api/state", nil)
	if st.status != 200 || !strings.Contains(string(st.raw), `"group":"blue"`) || !strings.Contains(string(st.raw), `"writable":true`) {
		t.Fatalf("state = %d %s", st.status, st.raw)
	}
	if !strings.Contains(string(st.raw), `"unix@/tmp/x.sock":{"status":"none"`) {
		t.Fatalf("a unix server must show no metrics: %s", st.raw)
	}
	ok := do(t, ts, "POST", "/api/update", map[string]any{"service": "Arith", "server": "tcp@127.0.0.1:1001",
		"change": map[string]any{"active": false, "weight": 3}, "confirm": true})
	if ok.status != 200 || ok.body["metadata"] != "group=blue&latitude=1&longitude=2&state=inactive&tags=a%2Cb&weight=3" {
		t.Fatalf("update = %d %s", ok.status, ok.raw)
	}
	eventually(t, "the change listed", func() bool {
		s, _ := d.server("Arith", "tcp@127.0.0.1:1001")
		return !s.Fields.Active && s.Fields.Weight == 3
	})
}

func TestUpdateRefusals(t *testing.T) {
	t.Parallel()
	fa := newFakeAdmin(registryadmin.Service{Name: "Arith", Servers: []registryadmin.Server{srv("tcp@127.0.0.1:1001", "")}})
	d, ts := startDash(t, Config{}, fa, nil)
	eventually(t, "first list", listed(d))
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"service": "Arith", "server": "tcp@127.0.0.1:1001", "change": map[string]any{"active": false}, "confirm": true}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	cases := []struct {
		name   string
		body   any
		hdr    []string
		status int
		field  string
		msg    string
	}{
		{"not JSON", "{nope", nil, 400, "", "bad request body"},
		{"unknown field", `{"service":"Arith","bogus":1}`, nil, 400, "", "unknown field"},
		{"trailing data", `{"service":"Arith"} {}`, nil, 400, "", "extra data"},
		{"no confirmation", body(map[string]any{"confirm": false}), nil, 400, "confirm", "confirmed"},
		{"empty change", body(map[string]any{"change": map[string]any{}}), nil, 400, "change", "edits nothing"},
		{"negative weight", body(map[string]any{"change": map[string]any{"weight": -1}}), nil, 400, "change", "weight"},
		{"unknown server", body(map[string]any{"server": "tcp@127.0.0.1:9"}), nil, 404, "server", "not registered"},
		{"unknown service", body(map[string]any{"service": "Nope"}), nil, 404, "server", "not registered"},
		{"cross origin", body(nil), []string{"Origin", "http://evil.example"}, 403, "", "cross-origin"},
	}
	for _, c := range cases {
		r := do(t, ts, "POST", "/api/update", c.body, c.hdr...)
		if r.status != c.status || r.body["field"] != nilIfEmpty(c.field) || !strings.Contains(fmt.Sprint(r.body["error"]), c.msg) {
			t.Errorf("%s: %d %s; want %d field %q error containing %q", c.name, r.status, r.raw, c.status, c.field, c.msg)
		}
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/update", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "text/plain")
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a text/plain write: %d, want 415", res.StatusCode)
	}
	if r := do(t, ts, "GET", "/api/nope", nil); r.status != 404 || r.body["error"] == nil {
		t.Errorf("unknown API: %d %s", r.status, r.raw)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestToken(t *testing.T) {
	t.Parallel()
	fa := newFakeAdmin(registryadmin.Service{Name: "Arith", Servers: []registryadmin.Server{srv("tcp@127.0.0.1:1001", "")}})
	d, ts := startDash(t, Config{Token: "s3cret"}, fa, nil)
	eventually(t, "first list", listed(d))
	b := map[string]any{"service": "Arith", "server": "tcp@127.0.0.1:1001", "change": map[string]any{"group": "x"}, "confirm": true}
	for _, tok := range []string{"", "wrong"} {
		if r := do(t, ts, "POST", "/api/update", b, tokenHeader, tok); r.status != 401 || r.body["field"] != "token" {
			t.Errorf("token %q: %d %s", tok, r.status, r.raw)
		}
	}
	if r := do(t, ts, "POST", "/api/update", b, tokenHeader, "s3cret"); r.status != 200 {
		t.Errorf("right token: %d %s", r.status, r.raw)
	}
	if r := do(t, ts, "GET", "/api/state", nil); !strings.Contains(string(r.raw), `"tokenRequired":true`) {
		t.Errorf("state does not say a token is required: %s", r.raw)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{},
		{Registry: "etcd://127.0.0.1:2379/x", Addr: "tcp@127.0.0.1:1"},
		{Registry: "redis://h:1/x"},
		{Addr: "127.0.0.1:8972"},
		{Addr: "tcp@127.0.0.1:1", Listen: "0.0.0.0:8980"},
		{Addr: "tcp@127.0.0.1:1", Listen: ":8980"},
	} {
		if err := Serve(t.Context(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("Serve(%+v) = %v, want ErrConfig", c, err)
		}
	}
	c := Config{Addr: "tcp@127.0.0.1:1", Listen: "0.0.0.0:0", Token: "t"}
	if err := c.normalize(); err != nil {
		t.Errorf("a token allows any address: %v", err)
	}
}

func TestRegistryDown(t *testing.T) {
	t.Parallel()
	// The registry never answers: the page says so, writes say so, nothing crashes.
	_, ts := startDash(t, Config{}, nil, fmt.Errorf("%w: etcd [127.0.0.1:1]: context deadline exceeded", registryadmin.ErrUnavailable))
	eventually(t, "error in state", func() bool {
		r := do(t, ts, "GET", "/api/state", nil)
		return strings.Contains(fmt.Sprint(r.body["error"]), "registry unavailable")
	})
	r := do(t, ts, "POST", "/api/update", map[string]any{"service": "A", "server": "tcp@h:1", "change": map[string]any{"active": false}, "confirm": true})
	if r.status != 503 || !strings.Contains(fmt.Sprint(r.body["error"]), "registry unavailable") {
		t.Fatalf("update with the registry down: %d %s", r.status, r.raw)
	}
	// The registry goes down after the first list: the last list stays, with the error.
	fa := newFakeAdmin(registryadmin.Service{Name: "Arith", Servers: []registryadmin.Server{srv("tcp@127.0.0.1:1001", "")}})
	d, ts2 := startDash(t, Config{}, fa, nil)
	eventually(t, "first list", listed(d))
	fa.mu.Lock()
	fa.down = true
	fa.mu.Unlock()
	fa.poke()
	eventually(t, "error kept with the list", func() bool {
		st := d.state()
		return st.Error != "" && len(st.Services) == 1
	})
	r = do(t, ts2, "POST", "/api/update", map[string]any{"service": "Arith", "server": "tcp@127.0.0.1:1001", "change": map[string]any{"active": false}, "confirm": true})
	if r.status != 503 || !strings.Contains(fmt.Sprint(r.body["error"]), "unavailable") {
		t.Fatalf("update with the registry gone: %d %s", r.status, r.raw)
	}
}

// fakeMetrics serves rpc_server_call_duration_seconds; each request adds
// 10 calls of Arith/Mul (1 failed) in the 5-10 ms bucket.
func fakeMetrics(t *testing.T) *httptest.Server {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		ok, bad := 9*k, k
		fmt.Fprintf(w, "# HELP %s Duration.\n# TYPE %s histogram\n", histName, histName)
		for _, s := range []struct {
			errType string
			c       int64
		}{{"", ok}, {"internal", bad}} {
			lbl := fmt.Sprintf(`rpc_method="Arith/Mul",rpc_system="courier",error_type=%q`, s.errType)
			fmt.Fprintf(w, "%s_bucket{%s,le=\"0.005\"} 0\n%s_bucket{%s,le=\"0.01\"} %d\n%s_bucket{%s,le=\"+Inf\"} %d\n",
				histName, lbl, histName, lbl, s.c, histName, lbl, s.c)
			fmt.Fprintf(w, "%s_sum{%s} %g\n%s_count{%s} %d\n", histName, lbl, float64(s.c)*0.007, histName, lbl, s.c)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestTraffic(t *testing.T) {
	t.Parallel()
	m := fakeMetrics(t)
	fa := newFakeAdmin(registryadmin.Service{Name: "Arith", Servers: []registryadmin.Server{
		srv("tcp@127.0.0.1:1001", "metrics="+m.URL+"/metrics"),
		srv("tcp@127.0.0.1:1", ""), // nothing listens: no metrics
	}})
	d, ts := startDash(t, Config{}, fa, nil)
	eventually(t, "two scrapes", func() bool {
		_, methods, _ := d.traffic.detail("tcp@127.0.0.1:1001")
		return len(methods["Arith/Mul"]) >= 2
	})
	_, methods, _ := d.traffic.detail("tcp@127.0.0.1:1001")
	p := methods["Arith/Mul"][1]
	if p.Calls <= 0 || p.Errors <= 0 || p.Errors*10 > p.Calls*1.01 || p.P50 < 5 || p.P50 > 10 || p.P99 < p.P50 || p.P99 > 10 {
		t.Fatalf("point = %+v", p)
	}
	if ov := d.traffic.overview(5)["tcp@127.0.0.1:1001"]; len(ov.Services["Arith"]) == 0 || ov.Services["Arith"][0].Calls != ov.Total[0].Calls {
		t.Fatalf("per-service series = %+v", ov)
	}
	r := do(t, ts, "GET", "/api/traffic?server=tcp@127.0.0.1:1001", nil)
	if r.status != 200 || r.body["status"] != "ok" {
		t.Fatalf("traffic = %d %s", r.status, r.raw)
	}
	eventually(t, "no metrics for the dead server", func() bool {
		r := do(t, ts, "GET", "/api/traffic?server=tcp@127.0.0.1:1", nil)
		return r.body["status"] == "none" && r.body["reason"] != nil
	})
	if r := do(t, ts, "GET", "/api/traffic?server=tcp@1.2.3.4:5", nil); r.status != 404 {
		t.Fatalf("unknown server: %d %s", r.status, r.raw)
	}
	if r := do(t, ts, "GET", "/api/traffic", nil); r.status != 400 {
		t.Fatalf("no server: %d %s", r.status, r.raw)
	}
}
