//go:build etcd

package serverplugin

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/server"
)

// These tests run against the real etcd cluster of scripts/testenv.sh and
// look at the keys the plugins write with a plain etcd client.

func etcdCli(t *testing.T, eps []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// getKey returns the value of key and its lease TTL (-1 without lease);
// ok is false when the key is absent.
func getKey(t *testing.T, cli *clientv3.Client, key string) (val string, ttl int64, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0, false
	}
	kv := resp.Kvs[0]
	if kv.Lease == 0 {
		return string(kv.Value), -1, true
	}
	lr, err := cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
	if err != nil {
		t.Fatalf("lease of %s: %v", key, err)
	}
	return string(kv.Value), lr.TTL, true
}

// waitKey polls until key has value want ("" with present=false: absent).
func waitKey(t *testing.T, cli *clientv3.Client, key, want string, present bool, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		v, _, ok := getKey(t, cli, key)
		if ok == present && (!present || v == want) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v key %s = %q (present %v), want %q (present %v)", limit, key, v, ok, want, present)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEtcdPluginLayoutLeaseAndStop(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	cli := etcdCli(t, eps)
	base := engines.Prefix(t)
	dir := strings.TrimPrefix(base, "/")
	for _, tc := range []struct {
		name   string
		start  func() (stop func() error, reg func(string, string) error, err error)
		ttlMax int64
	}{
		{"v3 TTL 3s", func() (func() error, func(string, string) error, error) {
			p := &EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:8101", EtcdServers: eps, BasePath: base, Expired: 3 * time.Second}
			return p.Stop, func(n, md string) error { return p.Register(n, nil, md) }, p.Start()
		}, 3},
		{"v2 name default TTL", func() (func() error, func(string, string) error, error) {
			p := &EtcdRegisterPlugin{ServiceAddress: "tcp@127.0.0.1:8102", EtcdServers: eps, BasePath: base}
			return p.Stop, func(n, md string) error { return p.RegisterFunction(n, "F", nil, md) }, p.Start()
		}, int64(DefaultRegistryTTL / time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop, reg, err := tc.start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if err := reg("Arith", "weight=3"); err != nil {
				t.Fatal(err)
			}
			addr := map[bool]string{true: "tcp@127.0.0.1:8101", false: "tcp@127.0.0.1:8102"}[tc.ttlMax == 3]
			key := dir + "/Arith/" + addr
			v, ttl, ok := getKey(t, cli, key) // written before Register returned
			if !ok || v != "weight=3" || ttl <= 0 || ttl > tc.ttlMax {
				t.Fatalf("key %s = %q ttl %d present %v; want weight=3 with TTL in (0,%d]", key, v, ttl, ok, tc.ttlMax)
			}
			if v, ttl, ok := getKey(t, cli, dir+"/Arith"); !ok || v != "Arith" || ttl != -1 {
				t.Fatalf("service dir key = %q ttl %d present %v", v, ttl, ok)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if _, _, ok := getKey(t, cli, key); ok {
				t.Fatal("key still present after Stop")
			}
			if err := stop(); err != nil {
				t.Fatalf("second Stop: %v", err)
			}
		})
	}
}

// TestEtcdPluginReRegistersAfterLeaseLoss: when the lease disappears (here
// revoked behind the plugin's back, as after a long etcd outage), the
// plugin takes a new lease and writes its entries again.
func TestEtcdPluginReRegistersAfterLeaseLoss(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	cli := etcdCli(t, eps)
	base := engines.Prefix(t)
	p := &EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:8201", EtcdServers: eps, BasePath: base, Expired: 2 * time.Second}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if err := p.Register("Arith", nil, ""); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(base, "/") + "/Arith/tcp@127.0.0.1:8201"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get: %v %v", resp, err)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	took := waitKey(t, cli, key, "", true, 10*time.Second)
	t.Logf("entry written again %v after its lease was revoked", took)
}

// TestEtcdPluginWaitsForServerStarted is scenario 12: with ServerStarted =
// server.Started the entry appears only once the listener serves; a client
// that finds the entry can connect and call at once.
func TestEtcdPluginWaitsForServerStarted(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	cli := etcdCli(t, eps)
	base := engines.Prefix(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := server.NewServer()
	p := &EtcdV3RegisterPlugin{ServiceAddress: "tcp@" + ln.Addr().String(), EtcdServers: eps, BasePath: base, ServerStarted: s.Started}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s.Plugins.Add(p)
	if err := s.RegisterName("Arith", new(testutils.Arith), "weight=1"); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(base, "/") + "/Arith/" + p.ServiceAddress
	if _, _, ok := getKey(t, cli, key); ok {
		t.Fatal("entry present before Serve")
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeListener("tcp", ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-served
	}()
	took := waitKey(t, cli, key, "weight=1", true, 10*time.Second)
	t.Logf("entry appeared %v after Serve began", took)
	c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatalf("entry present but dial fails: %v", err)
	}
	c.Close()
}

// TestEtcdPluginMetricsTPS: with Metrics and UpdateInterval the entry
// carries "tps" next to the registered metadata.
func TestEtcdPluginMetricsTPS(t *testing.T) {
	eps := engines.Require(t, engines.Etcd)
	cli := etcdCli(t, eps)
	base := engines.Prefix(t)
	reg := metrics.NewRegistry()
	p := &EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:8301", EtcdServers: eps, BasePath: base,
		Metrics: reg, UpdateInterval: 100 * time.Millisecond}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if err := p.Register("Arith", nil, "weight=2"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PreCall(context.Background(), "Arith", "Mul", 1); err != nil {
		t.Fatal(err)
	}
	if c, ok := p.HandleConnAccept(nil); !ok || c != nil {
		t.Fatal("HandleConnAccept refused a connection")
	}
	if n := metrics.GetOrRegisterMeter("calls", reg).Count(); n != 1 {
		t.Fatalf("calls meter = %d", n)
	}
	v, _, _ := getKey(t, cli, strings.TrimPrefix(base, "/")+"/Arith/tcp@127.0.0.1:8301")
	if !strings.HasPrefix(v, "weight=2&tps=") {
		t.Fatalf("value %q, want weight=2&tps=N", v)
	}
	if got := p.Services; len(got) != 1 || got[0] != "Arith" {
		t.Fatalf("Services = %v", got)
	}
}

func TestEtcdPluginErrors(t *testing.T) {
	cases := []struct {
		name string
		p    *EtcdV3RegisterPlugin
		want error
	}{
		{"no servers", &EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:1"}, ErrRegistryConfig},
		{"bad address", &EtcdV3RegisterPlugin{ServiceAddress: "127.0.0.1:1", EtcdServers: []string{"127.0.0.1:1"}}, ErrRegistryConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Start(); !errors.Is(err, tc.want) {
				t.Fatalf("Start: %v, want %v", err, tc.want)
			}
		})
	}
	p := &EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:1", EtcdServers: []string{"127.0.0.1:1"}}
	if err := p.Register("A", nil, ""); err != nil { // recorded until a Start succeeds
		t.Fatalf("Register before Start: %v, want nil", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
}
