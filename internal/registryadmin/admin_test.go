package registryadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/hashicorp/consul/api"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/internal/registryconn/zkconn"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// kit writes server entries the way a register plugin does (bound to a
// lease, an ephemeral node or a session) and reports whether an entry is
// still bound to it.
type kit struct {
	url   string
	put   func(t *testing.T, service, key, value string)
	bound func(t *testing.T, service, key string) bool
}

func base(t *testing.T) string {
	return fmt.Sprintf("radmin_%s_%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

func etcdKit(t *testing.T) kit {
	addrs := engines.Require(t, engines.Etcd)
	cli, err := clientv3.New(clientv3.Config{Endpoints: addrs, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	lease, err := cli.Grant(t.Context(), 60)
	if err != nil {
		t.Fatal(err)
	}
	b := base(t)
	return kit{
		url: "etcd://" + strings.Join(addrs, ",") + "/" + b,
		put: func(t *testing.T, service, key, value string) {
			if _, err := cli.Put(t.Context(), b+"/"+service, service); err != nil {
				t.Fatal(err)
			}
			if _, err := cli.Put(t.Context(), b+"/"+service+"/"+key, value, clientv3.WithLease(lease.ID)); err != nil {
				t.Fatal(err)
			}
		},
		bound: func(t *testing.T, service, key string) bool {
			resp, err := cli.Get(t.Context(), b+"/"+service+"/"+key)
			if err != nil || len(resp.Kvs) != 1 {
				t.Fatalf("get: %v %v", resp, err)
			}
			return resp.Kvs[0].Lease == int64(lease.ID)
		},
	}
}

func zkKit(t *testing.T) kit {
	addrs := engines.Require(t, engines.ZooKeeper)
	conn, _, err := zkconn.Connect(addrs, 10*time.Second, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	b := base(t)
	acl := zk.WorldACL(zk.PermAll)
	return kit{
		url: "zookeeper://" + strings.Join(addrs, ",") + "/" + b,
		put: func(t *testing.T, service, key, value string) {
			for _, p := range []string{"/" + b, "/" + b + "/" + service} {
				if _, err := conn.Create(p, nil, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
					t.Fatal(err)
				}
			}
			if _, err := conn.Create("/"+b+"/"+service+"/"+key, []byte(value), zk.FlagEphemeral, acl); err != nil {
				t.Fatal(err)
			}
		},
		bound: func(t *testing.T, service, key string) bool {
			_, st, err := conn.Get("/" + b + "/" + service + "/" + key)
			if err != nil {
				t.Fatal(err)
			}
			return st.EphemeralOwner == conn.SessionID()
		},
	}
}

func consulKit(t *testing.T) kit {
	addrs := engines.Require(t, engines.Consul)
	cfg := api.DefaultConfig()
	cfg.Address = addrs[0]
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := c.Session().Create(&api.SessionEntry{TTL: "60s", Behavior: api.SessionBehaviorDelete}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Session().Destroy(sess, nil) })
	b := base(t)
	return kit{
		url: "consul://" + addrs[0] + "/" + b,
		put: func(t *testing.T, service, key, value string) {
			if _, err := c.KV().Put(&api.KVPair{Key: b + "/" + service, Value: []byte(service)}, nil); err != nil {
				t.Fatal(err)
			}
			ok, _, err := c.KV().Acquire(&api.KVPair{Key: b + "/" + service + "/" + key, Value: []byte(value), Session: sess}, nil)
			if err != nil || !ok {
				t.Fatalf("acquire: %v %v", ok, err)
			}
		},
		bound: func(t *testing.T, service, key string) bool {
			p, _, err := c.KV().Get(b+"/"+service+"/"+key, nil)
			if err != nil || p == nil {
				t.Fatalf("get: %v %v", p, err)
			}
			return p.Session == sess
		},
	}
}

// TestAdmin is the behaviour suite every registry runs: list, edit with
// the binding kept, watch, unknown entries.
func TestAdmin(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) kit{"etcd": etcdKit, "zookeeper": zkKit, "consul": consulKit} {
		t.Run(name, func(t *testing.T) {
			k := mk(t)
			k.put(t, "Arith", "tcp@127.0.0.1:8001", "weight=2")
			k.put(t, "Arith", "tcp@127.0.0.1:8002", "")
			k.put(t, "Echo", "tcp@127.0.0.1:8001", "group=x&tps=3")
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			a, err := OpenURL(ctx, k.url, Options{Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			list, err := a.Services(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(list); got != "Arith[tcp@127.0.0.1:8001=weight=2 tcp@127.0.0.1:8002=] Echo[tcp@127.0.0.1:8001=group=x&tps=3]" {
				t.Fatalf("list = %s", got)
			}
			watch := Watch(ctx, a, 100*time.Millisecond, nil)
			<-watch // the first list
			no, three := false, 3
			val, err := a.Update(ctx, "Arith", "tcp@127.0.0.1:8001", Change{Active: &no, Weight: &three})
			if err != nil || val != "state=inactive&weight=3" {
				t.Fatalf("Update = %q, %v", val, err)
			}
			if !k.bound(t, "Arith", "tcp@127.0.0.1:8001") {
				t.Fatal("the entry lost its lease/ephemeral owner/session after Update")
			}
			waitFor(t, "the update", watch, func(l []Service) bool { return !l[0].Servers[0].Fields.Active && l[0].Servers[0].Fields.Weight == 3 })
			k.put(t, "Arith", "tcp@127.0.0.1:8003", "")
			waitFor(t, "a new server", watch, func(l []Service) bool { return len(l[0].Servers) == 3 })
			if _, err := a.Update(ctx, "Arith", "tcp@127.0.0.1:9999", Change{Active: &no}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Update of an unknown server: %v", err)
			}
			if _, err := a.Update(ctx, "Nope", "tcp@127.0.0.1:8001", Change{Active: &no}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Update of an unknown service: %v", err)
			}
			if _, err := a.Update(ctx, "Arith", "tcp@127.0.0.1:8001", Change{}); !errors.Is(err, ErrBadMetadata) {
				t.Fatalf("empty Update: %v", err)
			}
		})
	}
}

func waitFor(t *testing.T, what string, watch <-chan []Service, ok func([]Service) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	var last []Service
	for {
		select {
		case l := <-watch:
			if len(l) > 0 && ok(l) {
				return
			}
			last = l
		case <-deadline:
			t.Fatalf("the watch did not deliver %s within 10 s; last list %s", what, render(last))
		}
	}
}

func render(list []Service) string {
	var parts []string
	for _, s := range list {
		var srv []string
		for _, x := range s.Servers {
			srv = append(srv, x.Key+"="+x.Metadata)
		}
		parts = append(parts, s.Name+"["+strings.Join(srv, " ")+"]")
	}
	return strings.Join(parts, " ")
}

// TestOpenDown checks a registry that is not there gives ErrUnavailable
// within the timeout, for every kind.
func TestOpenDown(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"etcd://127.0.0.1:1/x", "zookeeper://127.0.0.1:1/x", "consul://127.0.0.1:1/x"} {
		start := time.Now()
		_, err := OpenURL(t.Context(), u, Options{Timeout: 500 * time.Millisecond})
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("OpenURL(%s) error = %v, want ErrUnavailable", u, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("OpenURL(%s) took %v", u, d)
		}
	}
}
