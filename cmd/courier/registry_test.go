package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/go-zookeeper/zk"
	"github.com/hashicorp/consul/api"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// seed writes rpcx's registry layout (base/service/network@address =
// metadata) into a real engine and returns the registry URL; each returns
// "" after skipping when its engine is not running.
type seed func(t *testing.T, entries map[string]map[string]string) string

func basePath(t *testing.T) string {
	return strings.TrimPrefix(engines.Prefix(t), "/")
}

func seedEtcd(t *testing.T, entries map[string]map[string]string) string {
	addrs := engines.Require(t, engines.Etcd)
	cli, err := clientv3.New(clientv3.Config{Endpoints: addrs, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	b := basePath(t)
	for svc, servers := range entries {
		for key, meta := range servers {
			if _, err := cli.Put(t.Context(), b+"/"+svc+"/"+key, meta); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		if c, err := clientv3.New(clientv3.Config{Endpoints: addrs, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}); err == nil {
			_, _ = c.Delete(t.Context(), b+"/", clientv3.WithPrefix())
			c.Close()
		}
	})
	return "etcd://" + strings.Join(addrs, ",") + "/" + b
}

type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}

func seedZK(t *testing.T, entries map[string]map[string]string) string {
	addrs := engines.Require(t, engines.ZooKeeper)
	conn, _, err := zk.Connect(addrs, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(zkQuiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close) // the ephemeral nodes go with the session
	b := basePath(t)
	acl := zk.WorldACL(zk.PermAll)
	mk := func(p string, data []byte, flags int32) {
		if _, err := conn.Create(p, data, flags, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatalf("zk create %s: %v", p, err)
		}
	}
	parts := strings.Split(b, "/")
	for i := range parts {
		mk("/"+strings.Join(parts[:i+1], "/"), nil, 0)
	}
	for svc, servers := range entries {
		mk("/"+b+"/"+svc, nil, 0)
		for key, meta := range servers {
			mk("/"+b+"/"+svc+"/"+key, []byte(meta), zk.FlagEphemeral)
		}
	}
	return "zookeeper://" + strings.Join(addrs, ",") + "/" + b
}

func seedConsul(t *testing.T, entries map[string]map[string]string) string {
	addr := engines.Require(t, engines.Consul)[0]
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := basePath(t)
	for svc, servers := range entries {
		for key, meta := range servers {
			if _, err := c.KV().Put(&api.KVPair{Key: b + "/" + svc + "/" + key, Value: []byte(meta)}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() { _, _ = c.KV().DeleteTree(b, nil) })
	return "consul://" + addr + "/" + b
}

// TestRegistry: list and describe read services, servers and metadata from
// etcd, ZooKeeper and Consul (real engines: make test-all starts them).
func TestRegistry(t *testing.T) {
	entries := map[string]map[string]string{
		"Arith": {
			"tcp@127.0.0.1:9001": "state=inactive&weight=5&group=blue&tags=a,b&zone=eu",
			"tcp@127.0.0.1:9002": "weight=10",
		},
		"Echo": {"tcp@127.0.0.1:9003": ""},
	}
	for name, seed := range map[string]seed{"etcd": seedEtcd, "zookeeper": seedZK, "consul": seedConsul} {
		t.Run(name, func(t *testing.T) {
			url := seed(t, entries)
			r := cli(t, "", "list", "--registry", url)
			for _, want := range []string{
				"Arith (2 servers)\n", "Echo (1 server)\n",
				"tcp@127.0.0.1:9001  state=inactive weight=5 group=blue tags=a,b zone=eu",
				"tcp@127.0.0.1:9002  state=active weight=10",
			} {
				if r.code != 0 || !strings.Contains(r.stdout, want) {
					t.Errorf("list lacks %q: %+v", want, r)
				}
			}
			r = cli(t, "", "describe", "-r", url, "-o", "json", "Arith")
			var svcs []struct {
				Name    string
				Servers []struct {
					Key    string
					Fields struct {
						Active bool
						Weight int
						Group  string
					}
				}
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &svcs) != nil || len(svcs) != 1 || len(svcs[0].Servers) != 2 {
				t.Fatalf("describe -o json: %+v", r)
			}
			if f := svcs[0].Servers[0].Fields; svcs[0].Servers[0].Key != "tcp@127.0.0.1:9001" || f.Active || f.Weight != 5 || f.Group != "blue" {
				t.Errorf("first server %+v", svcs[0].Servers[0])
			}
			r = cli(t, "", "describe", "-r", url, "Nope")
			if r.code != exitRemote {
				t.Fatalf("describe unknown: %+v", r)
			}
			oneStderrLine(t, r, `service "Nope" is not registered`)
		})
	}
}

func TestRegistryDown(t *testing.T) {
	for _, url := range []string{"etcd://127.0.0.1:1/base", "zookeeper://127.0.0.1:1/base", "consul://127.0.0.1:1/base"} {
		t.Run(url, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := cli(t, "", "list", "--registry", url, "--timeout", "2s")
			if r.code != exitUnreachable {
				t.Fatalf("exit %d: %+v", r.code, r)
			}
			oneStderrLine(t, r, "registry ")
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v to give up", d)
			}
		})
	}
}
