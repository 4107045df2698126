//go:build browser && etcd && zookeeper && consul

package dashboard

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/reflection"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/serverplugin/prometheus"
	"github.com/courier-rpc/courier/share"
)

// countingArith is Arith whose Mul counts its calls, so the test counts
// traffic on the servers themselves.
type countingArith struct {
	testutils.Arith
	calls atomic.Int64
}

func (a *countingArith) Mul(ctx context.Context, args *testutils.Args, reply *testutils.Reply) error {
	a.calls.Add(1)
	return a.Arith.Mul(ctx, args, reply)
}

// testServer is one courier server registered in a registry.
type testServer struct {
	key   string
	arith *countingArith
}

type registrar interface {
	Stop() error
}

// startCluster starts n servers with Arith and Reflection registered under
// base in the registry kind ("etcd", "zookeeper", "consul").
func startCluster(t *testing.T, kind, base string, n int) []*testServer {
	t.Helper()
	var out []*testServer
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ts := &testServer{key: "tcp@" + ln.Addr().String(), arith: &countingArith{}}
		s := server.NewServer()
		_, err = prometheus.Install(s) // GET /metrics on the server's own port, scraped by the dashboard
		must(t, err)
		p := registerPlugin(t, kind, base, ts.key, s)
		s.Plugins.Add(p)
		r := reflection.New()
		must(t, r.Register("Arith", ts.arith, ""))
		must(t, s.RegisterName("Reflection", r, ""))
		must(t, s.RegisterName("Arith", ts.arith, ""))
		go func() { _ = s.ServeListener("tcp", ln) }()
		t.Cleanup(func() { _ = p.Stop(); _ = s.Close() })
		out = append(out, ts)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// registerPlugin returns a started register plugin of kind for server s.
func registerPlugin(t *testing.T, kind, base, key string, s *server.Server) interface {
	registrar
	server.Plugin
} {
	t.Helper()
	switch kind {
	case "etcd":
		p := &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: key, EtcdServers: engines.Require(t, engines.Etcd),
			BasePath: base, ServerStarted: s.Started, Expired: 5 * time.Second}
		must(t, p.Start())
		return p
	case "zookeeper":
		p := &serverplugin.ZooKeeperRegisterPlugin{ServiceAddress: key, ZooKeeperServers: engines.Require(t, engines.ZooKeeper),
			BasePath: base, ServerStarted: s.Started, Expired: 5 * time.Second}
		must(t, p.Start())
		return p
	case "consul":
		p := &serverplugin.ConsulRegisterPlugin{ServiceAddress: key, ConsulServers: engines.Require(t, engines.Consul),
			BasePath: base, ServerStarted: s.Started, Expired: 5 * time.Second}
		must(t, p.Start())
		return p
	}
	t.Fatalf("unknown registry %q", kind)
	return nil
}

// registryURL is the dashboard's URL of kind's test engine under base.
func registryURL(t *testing.T, kind, base string) string {
	switch kind {
	case "etcd":
		return "etcd://" + strings.Join(engines.Require(t, engines.Etcd), ",") + "/" + base
	case "zookeeper":
		return "zookeeper://" + strings.Join(engines.Require(t, engines.ZooKeeper), ",") + "/" + base
	}
	return "consul://" + engines.Require(t, engines.Consul)[0] + "/" + base
}

// discovery returns an XClient discovery of Arith under base.
func discovery(t *testing.T, kind, base string) client.ServiceDiscovery {
	t.Helper()
	opts := &share.RegistryOptions{ConnectionTimeout: 5 * time.Second}
	var d client.ServiceDiscovery
	var err error
	switch kind {
	case "etcd":
		d, err = client.NewEtcdV3Discovery(base, "Arith", engines.Require(t, engines.Etcd), true, opts)
	case "zookeeper":
		d, err = client.NewZookeeperDiscovery(base, "Arith", engines.Require(t, engines.ZooKeeper), opts)
	default:
		d, err = client.NewConsulDiscovery(base, "Arith", engines.Require(t, engines.Consul), opts)
	}
	must(t, err)
	return d
}

// load calls Arith.Mul from workers goroutines through xc, each at most
// once a millisecond, until stop is closed; the returned function waits
// until they have all stopped.
func load(xc client.XClient, workers int, stop <-chan struct{}) func() {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = xc.Call(ctx, "Mul", &testutils.Args{A: 6, B: 7}, &testutils.Reply{})
				cancel()
			}
		}()
	}
	return wg.Wait
}

// startDashboard runs Serve on a free loopback port and returns its URL.
func startDashboard(t *testing.T, registry string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{Registry: registry, Listen: "127.0.0.1:0", ScrapeInterval: 500 * time.Millisecond,
			OnListen: func(a net.Addr) { addrc <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the dashboard did not listen within 10 s")
	}
	return ""
}

// chromium returns the browser binary: $COURIER_CHROMIUM or chromium on
// PATH. Without it the test is skipped (failed with COURIER_REQUIRE_ENGINES=1).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COURIER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: install it (scripts/testenv.sh install) or set COURIER_CHROMIUM"
	if engines.Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless chromium for the test and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1500, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	must(t, chromedp.Do(ctx)) // starts the browser on a context without a timeout
	return ctx
}

// screenshot saves a full-page PNG (quality 100 means PNG) as dashboard-name.png in
// $COURIER_SCREENSHOTS (docs/ when `make test-dashboard` refreshes them),
// else in the test's temp dir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("COURIER_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err)
	path := filepath.Join(dir, "dashboard-"+name+".png")
	must(t, os.WriteFile(path, buf, 0o644))
	t.Logf("screenshot %s", path)
}
