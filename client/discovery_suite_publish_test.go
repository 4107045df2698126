//go:build etcd || zookeeper || consul

package client

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/internal/registryadmin"
	"github.com/courier-rpc/courier/server"
)

// Suite tests of what a register plugin publishes: readiness tied to the
// publication (issue 13, rpcx#867) and operators' edits kept across the
// plugin's rewrites (issue 16). About 3 s (readiness) and 8 s (edits) per
// registry.

// openAdmin opens registryadmin on the kit's registry under base.
func openAdmin(t *testing.T, k *registryKit, addrs []string, base string) registryadmin.Admin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := registryadmin.Open(ctx, registryadmin.Target{Kind: k.name, Addrs: addrs, BasePath: strings.Trim(base, "/")}, registryadmin.Options{})
	if err != nil {
		t.Fatalf("registryadmin: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// storedMetadata returns the metadata stored for server key of Arith, and
// whether there is such an entry.
func storedMetadata(t *testing.T, a registryadmin.Admin, key string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := a.Services(ctx)
	if err != nil {
		t.Fatalf("registryadmin Services: %v", err)
	}
	for _, s := range list {
		for _, srv := range s.Servers {
			if s.Name == "Arith" && srv.Key == key {
				return srv.Metadata, true
			}
		}
	}
	return "", false
}

// httpStatus returns the status of GET path on hostport (0 when it cannot
// connect).
func httpStatus(hostport, path string) int {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get("http://" + hostport + path)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// TestRegistryReadyOncePublished: a server with a register plugin answers
// /readyz 503 while its listener serves but its entry is not in the
// registry, and 200 only once it is; the plugin wakes the server's
// readiness watchers (NotifyReadiness). Both orders: the service
// registered before and after the plugin's Start.
func TestRegistryReadyOncePublished(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, addrs []string) {
		if k.serverless {
			t.Skipf("%s stores no entries for registryadmin to read or edit", k.name)
		}
		for _, registerFirst := range []bool{false, true} {
			base := engines.Prefix(t)
			adm := openAdmin(t, k, addrs, base)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := server.NewServer()
			addr := "tcp@" + ln.Addr().String()
			gate := make(chan struct{}) // the plugin's ServerStarted, held by the test
			p := k.newPlugin(addr, addrs, base, 0, gate)
			k.tune(p, nil, 0, s)
			s.Plugins.Add(p)
			if registerFirst {
				if err := s.RegisterName("Arith", &idService{id: 1}, "weight=1"); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Stop(); s.Close() })
			if !registerFirst {
				if err := s.RegisterName("Arith", &idService{id: 1}, "weight=1"); err != nil {
					t.Fatal(err)
				}
			}
			go s.ServeListener("tcp", ln)
			hostport := ln.Addr().String()
			waitFor(t, 10*time.Second, "/healthz 200", func() bool { return httpStatus(hostport, server.HealthzPath) == 200 })
			if code := httpStatus(hostport, server.ReadyzPath); code != 503 {
				t.Fatalf("/readyz before the entry is published = %d, want 503", code)
			}
			if md, ok := storedMetadata(t, adm, addr); ok {
				t.Fatalf("entry published before ServerStarted: %q", md)
			}
			changed := s.ReadinessChanged()
			close(gate)
			start := time.Now()
			for !s.Ready() {
				select {
				case <-changed:
					changed = s.ReadinessChanged()
				case <-time.After(10 * time.Second):
					t.Fatal("10 s after ServerStarted the server is not ready and no readiness change was notified")
				}
			}
			if code := httpStatus(hostport, server.ReadyzPath); code != 200 {
				t.Fatalf("/readyz once ready = %d, want 200", code)
			}
			if _, ok := storedMetadata(t, adm, addr); !ok {
				t.Fatal("server ready but its entry is not in the registry")
			}
			t.Logf("register before Start %v: ready %v after ServerStarted", registerFirst, time.Since(start))
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
			if code := httpStatus(hostport, server.ReadyzPath); code != 503 {
				t.Fatalf("/readyz after the plugin stopped = %d, want 503", code)
			}
		}
	})
}

// TestRegistryKeepsOperatorEdits: state=inactive set by an operator
// (registryadmin, as the dashboard does) survives the plugin's rewrites:
// the periodic tps update, lease or session renewals and an
// UpdateMetadata; XClients keep avoiding the server.
func TestRegistryKeepsOperatorEdits(t *testing.T) {
	forEachKit(t, false, func(t *testing.T, k *registryKit, addrs []string) {
		if k.serverless {
			t.Skipf("%s stores no entries for registryadmin to read or edit", k.name)
		}
		base := engines.Prefix(t)
		reg := metrics.NewRegistry()
		calls := &rateMeter{}
		if err := reg.Register("calls", calls); err != nil {
			t.Fatal(err)
		}
		const every = 100 * time.Millisecond
		ttl := 2 * time.Second
		edited := startRegServer(t, 1, "weight=1", func(addr string, started chan struct{}) regPlugin {
			p := k.newPlugin(addr, addrs, base, ttl, started)
			k.tune(p, reg, every, nil)
			return p
		})
		other := startRegServer(t, 2, "weight=1", k.serverPlugin(addrs, base, 0))
		edited.serve()
		other.serve()
		d := k.discovery(t, addrs, base, "Arith")
		waitKeysContain(t, d, 10*time.Second, edited.addr, other.addr)
		adm := openAdmin(t, k, addrs, base)
		inactive := false
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := adm.Update(ctx, "Arith", edited.addr, registryadmin.Change{Active: &inactive}); err != nil {
			t.Fatalf("registryadmin Update: %v", err)
		}
		editAt := time.Now()
		calls.rate.Store(7) // tps changes: the plugin rewrites the entry
		var md string
		waitFor(t, 15*time.Second, "a tps rewrite after the edit, > 2 update intervals and a renewal later", func() bool {
			time.Sleep(50 * time.Millisecond) // do not flood the registry
			md, _ = storedMetadata(t, adm, edited.addr)
			return time.Since(editAt) > max(2*every, ttl) && strings.Contains(md, "tps=") && strings.Contains(md, "tps=7")
		})
		if !strings.Contains(md, "state=inactive") {
			t.Fatalf("after the plugin's tps rewrite the entry is %q: the operator's state=inactive is gone", md)
		}
		if err := edited.p.UpdateMetadata("Arith", "weight=5"); err != nil {
			t.Fatal(err)
		}
		md, _ = storedMetadata(t, adm, edited.addr)
		if !strings.Contains(md, "weight=5") || !strings.Contains(md, "state=inactive") {
			t.Fatalf("after UpdateMetadata(weight=5) the entry is %q, want weight=5 and state=inactive", md)
		}
		t.Logf("entry after the rewrites: %q", md)
		waitFor(t, 10*time.Second, "the discovery to drop the inactive server", func() bool {
			time.Sleep(10 * time.Millisecond)
			return !strings.Contains(listString(d.GetServices()), edited.addr)
		})
		xc := NewXClient("Arith", Failover, RoundRobin, d, DefaultOption)
		defer xc.Close()
		for i := 0; i < 20; i++ {
			id, err := xcall(xc)
			if err != nil {
				t.Fatal(err)
			}
			if id != 2 {
				t.Fatalf("call %d reached the server marked inactive", i)
			}
		}
	})
}

// rateMeter is a go-metrics Meter whose rates the test sets (a standard
// meter computes them every 5 s, in a goroutine that never ends).
type rateMeter struct{ rate atomic.Int64 }

func (m *rateMeter) Count() int64            { return 0 }
func (m *rateMeter) Mark(int64)              {}
func (m *rateMeter) Rate1() float64          { return float64(m.rate.Load()) }
func (m *rateMeter) Rate5() float64          { return m.Rate1() }
func (m *rateMeter) Rate15() float64         { return m.Rate1() }
func (m *rateMeter) RateMean() float64       { return m.Rate1() }
func (m *rateMeter) Snapshot() metrics.Meter { return m }
func (m *rateMeter) Stop()                   {}
