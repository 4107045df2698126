//go:build browser && etcd && zookeeper && consul

package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/client"
)

// The browser tests drive the page in headless chromium against real
// registries (make test-dashboard starts them): etcd with 3 servers under
// XClient load (list, deactivate/reactivate counted on the servers, weights
// 3:1:1, a call from the form, a bad JSON argument), ZooKeeper and Consul
// (list and toggle), and the page load time with 100 servers.

// page wraps the browser context of one test.
type page struct {
	t   *testing.T
	ctx context.Context
}

// waitJS polls the JavaScript condition until it is true or d passes.
func (p page) waitJS(what, cond string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 3000)`))
			screenshot(p.t, p.ctx, "failure")
			p.t.Fatalf("%s: not within %v (%s; last error %v); the page says:\n%s", what, d, cond, err, text)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	must(p.t, chromedp.Do(p.ctx, steps...))
}

func rowSel(service, key string) string {
	return fmt.Sprintf(`tr.server[data-service=%q][data-key=%q]`, service, key)
}

// confirm clicks the confirmation dialog's Confirm button.
func (p page) confirm() {
	p.t.Helper()
	p.waitJS("confirmation dialog", `document.getElementById("confirm-dialog").open`, 5*time.Second)
	p.do(chromedp.Click(chromedp.ID("confirm-yes")))
}

func (p page) toggle(key string) {
	p.t.Helper()
	p.clickRow(key, "toggle")
	p.confirm()
}

// clickRow clicks the button of class button in the Arith row of key. The
// table is re-rendered as the state updates arrive, so the button is
// found and clicked in one evaluation: a node looked up first and clicked
// afterwards may be gone by then ("Could not find node with given id").
func (p page) clickRow(key, button string) {
	p.t.Helper()
	sel := rowSel("Arith", key) + " button." + button
	p.waitJS("the "+button+" button of "+key, fmt.Sprintf(`(() => { const b = document.querySelector(%q); if (!b) return false; b.click(); return true })()`, sel), 5*time.Second)
}

func (p page) rowState(key string) string {
	return fmt.Sprintf(`(document.querySelector(%q)||{textContent:""}).textContent`, rowSel("Arith", key)+" .state")
}

// quiet polls a server's call count after t0 for window and returns when
// it last changed (relative to t0); the caller checks it stopped.
func quiet(srv *testServer, t0 time.Time, window time.Duration) (lastChange time.Duration, stillGoing bool) {
	last := srv.arith.calls.Load()
	for time.Since(t0) < window {
		time.Sleep(10 * time.Millisecond)
		if n := srv.arith.calls.Load(); n != last {
			last, lastChange = n, time.Since(t0)
		}
	}
	return lastChange, lastChange > window-time.Second
}

// resumes waits until a server gets calls again and returns how long it took.
func resumes(t *testing.T, srv *testServer, t0 time.Time, d time.Duration) time.Duration {
	t.Helper()
	n := srv.arith.calls.Load()
	for srv.arith.calls.Load() == n {
		if time.Since(t0) > d {
			t.Fatalf("%s got no call within %v of reactivation", srv.key, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(t0)
}

// setup starts 3 servers in the registry kind, the dashboard, an XClient
// under load and the browser on the page.
func setup(t *testing.T, kind string) (page, []*testServer) {
	base := fmt.Sprintf("dashboard_browser_%s_%d", kind, time.Now().UnixNano())
	servers := startCluster(t, kind, base, 3)
	url := startDashboard(t, registryURL(t, kind, base))
	d := discovery(t, kind, base)
	xc := client.NewXClient("Arith", client.Failtry, client.WeightedRoundRobin, d, client.DefaultOption)
	stop := make(chan struct{})
	wait := load(xc, 2, stop)
	t.Cleanup(func() { close(stop); wait(); _ = xc.Close(); d.Close() })
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range servers {
		for s.arith.calls.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the XClient does not reach %s within 15 s", s.key)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	p := page{t: t, ctx: browser(t)}
	p.do(chromedp.Navigate(url))
	p.waitJS("3 servers listed", `document.querySelectorAll('tr.server[data-service="Arith"]').length === 3`, 15*time.Second)
	return p, servers
}

// toggleScenario deactivates servers[0] from the page and checks the
// traffic to it stops within 2 s, then reactivates it.
func toggleScenario(t *testing.T, p page, servers []*testServer) {
	s0 := servers[0]
	before := [3]int64{}
	for i, s := range servers {
		before[i] = s.arith.calls.Load()
	}
	p.toggle(s0.key)
	t0 := time.Now()
	type result struct {
		last  time.Duration
		going bool
	}
	res := make(chan result, 1)
	go func() { l, g := quiet(s0, t0, 3*time.Second); res <- result{l, g} }()
	p.waitJS("row shows inactive", p.rowState(s0.key)+` === "inactive"`, 5*time.Second)
	r := <-res
	last, going := r.last, r.going
	if going || last > 2*time.Second {
		t.Fatalf("traffic to %s went on %v after the deactivation (want 0 within 2 s)", s0.key, last)
	}
	for i, s := range servers[1:] {
		if s.arith.calls.Load() == before[i+1] {
			t.Fatalf("%s got no traffic while %s was out", s.key, s0.key)
		}
	}
	t.Logf("deactivated %s: its last call came %v after the click's confirmation", s0.key, last.Round(time.Millisecond))
	p.toggle(s0.key)
	back := resumes(t, s0, time.Now(), 5*time.Second)
	p.waitJS("row shows active", p.rowState(s0.key)+` === "active"`, 5*time.Second)
	t.Logf("reactivated %s: first call after %v", s0.key, back.Round(time.Millisecond))
}

func TestBrowserEtcd(t *testing.T) {
	p, servers := setup(t, "etcd")
	p.waitJS("traffic shown for 3 servers", `document.querySelectorAll('tr.server[data-service="Arith"] .rate').length === 3`, 15*time.Second)
	screenshot(t, p.ctx, "servers")
	toggleScenario(t, p, servers)
	weightScenario(t, p, servers)
	callScenario(t, p, servers)
}

// weightScenario sets weights 3:1:1 from the edit dialog and checks the
// split of calls counted on the servers.
func weightScenario(t *testing.T, p page, servers []*testServer) {
	for i, w := range []int{3, 1, 1} {
		key := servers[i].key
		p.clickRow(key, "edit")
		p.waitJS("edit dialog", `document.getElementById("edit-dialog").open`, 5*time.Second)
		p.do(chromedp.SetValue(chromedp.ID("edit-weight"), strconv.Itoa(w)), chromedp.Click(chromedp.ID("edit-save")))
		p.confirm()
		p.waitJS("weight shown", fmt.Sprintf(`document.querySelector(%q).textContent === %q`, rowSel("Arith", key)+" .weight", strconv.Itoa(w)), 5*time.Second)
	}
	want := []float64{60, 20, 20}
	var got []float64
	for attempt := 0; attempt < 5; attempt++ {
		got = split(servers, 2*time.Second)
		ok := true
		for i := range want {
			ok = ok && math.Abs(got[i]-want[i]) <= 5
		}
		if ok {
			t.Logf("weights 3:1:1: calls split %.1f / %.1f / %.1f %% over 2 s", got[0], got[1], got[2])
			return
		}
	}
	t.Fatalf("weights 3:1:1: calls split %v %%, want %v ± 5 points", got, want)
}

// split counts each server's calls over d and returns their percentages.
func split(servers []*testServer, d time.Duration) []float64 {
	start := make([]int64, len(servers))
	for i, s := range servers {
		start[i] = s.arith.calls.Load()
	}
	time.Sleep(d) // the measurement window, not a wait for a server
	var total float64
	delta := make([]float64, len(servers))
	for i, s := range servers {
		delta[i] = float64(s.arith.calls.Load() - start[i])
		total += delta[i]
	}
	for i := range delta {
		delta[i] = 100 * delta[i] / max(total, 1)
	}
	return delta
}

// callScenario calls Arith.Mul from the form and then sends a bad JSON
// argument.
func callScenario(t *testing.T, p page, servers []*testServer) {
	key := servers[1].key
	p.clickRow(key, "open")
	p.waitJS("methods from reflection", `[...document.querySelectorAll("#call-method option")].some(o => o.value === "Mul")`, 10*time.Second)
	p.waitJS("per-method charts", `document.querySelectorAll('#charts .charts-method[data-method="Arith/Mul"] svg').length === 2`, 10*time.Second)
	p.do(chromedp.SetValue(chromedp.ID("call-method"), "Mul"),
		chromedp.SetValue(chromedp.ID("call-args"), `{"A":6,"B":7}`),
		chromedp.SetValue(chromedp.ID("call-meta"), "trace=dashboard-test"),
		chromedp.Click(chromedp.ID("call-go")))
	p.waitJS("reply shown", `JSON.parse(document.getElementById("call-reply").textContent || "{}").C === 42`, 10*time.Second)
	screenshot(t, p.ctx, "call")
	p.do(chromedp.SetValue(chromedp.ID("call-args"), `{"A":`), chromedp.Click(chromedp.ID("call-go")))
	p.waitJS("error next to the field", `document.getElementById("err-args").textContent.includes("invalid JSON") &&
		document.getElementById("call-args").classList.contains("invalid") &&
		document.getElementById("call-args").closest("label").nextElementSibling.id === "err-args"`, 5*time.Second)
	screenshot(t, p.ctx, "bad-json")
}

func TestBrowserZooKeeper(t *testing.T) {
	p, servers := setup(t, "zookeeper")
	toggleScenario(t, p, servers)
}

func TestBrowserConsul(t *testing.T) {
	p, servers := setup(t, "consul")
	toggleScenario(t, p, servers)
}

// TestBrowserPageLoad100 registers 100 servers and checks the page shows
// them within 200 ms of navigation (performance.now() at the first render).
func TestBrowserPageLoad100(t *testing.T) {
	addrs := engines.Require(t, engines.Etcd)
	base := fmt.Sprintf("dashboard_browser_load_%d", time.Now().UnixNano())
	cli, err := clientv3.New(clientv3.Config{Endpoints: addrs, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	must(t, err)
	defer cli.Close()
	lease, err := cli.Grant(t.Context(), 60)
	must(t, err)
	for i := range 100 {
		svc := []string{"Arith", "Echo", "Users", "Orders"}[i%4]
		key := fmt.Sprintf("%s/%s/tcp@127.0.0.1:%d", base, svc, 20000+i)
		_, err := cli.Put(t.Context(), key, fmt.Sprintf("weight=%d&group=g%d", 1+i%3, i%2), clientv3.WithLease(lease.ID))
		must(t, err)
	}
	url := startDashboard(t, registryURL(t, "etcd", base))
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st stateView
		resp, err := http.Get(url + "/api/state")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		n := 0
		for _, s := range st.Services {
			n += len(s.Servers)
		}
		if n == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard lists %d of 100 servers after 10 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := page{t: t, ctx: browser(t)}
	var times []float64
	for range 6 { // the first load also starts the browser's renderer: not counted
		p.do(chromedp.Navigate("about:blank"), chromedp.Navigate(url))
		p.waitJS("100 rows", `document.querySelectorAll("tr.server").length === 100`, 10*time.Second)
		ms, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](`window.__dash.firstRender`))
		must(t, err)
		times = append(times, ms)
	}
	timing, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`JSON.stringify(performance.getEntries().map(e => [e.name.replace(location.origin, ""), Math.round(e.startTime), Math.round(e.duration)]))`))
	t.Logf("100 servers: page rendered %v ms after navigation (6 loads); last load's timeline [name, start ms, duration ms]: %s", times, timing)
	warm := slices.Clone(times[1:])
	slices.Sort(warm)
	if warm[2] > 200 {
		t.Fatalf("page rendered in %v ms (median of the warm loads %.0f ms), want under 200", times, warm[2])
	}
}

// TestBrowserRegistryDown points the dashboard at a registry that does not
// answer: the page says so in its banner, and nothing crashes.
func TestBrowserRegistryDown(t *testing.T) {
	url := startDashboard(t, "etcd://127.0.0.1:1/nothing_here")
	p := page{t: t, ctx: browser(t)}
	p.do(chromedp.Navigate(url))
	p.waitJS("registry error in the banner", `!document.getElementById("banner").hidden &&
		document.getElementById("banner").textContent.includes("registry unavailable") &&
		document.getElementById("no-services") !== null`, 20*time.Second)
	screenshot(t, p.ctx, "registry-down")
}
