package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func keysOf(pairs []*KVPair) string {
	var k []string
	for _, p := range pairs {
		k = append(k, p.Key)
	}
	return strings.Join(k, ",")
}

func TestPeer2PeerDiscovery(t *testing.T) {
	if _, err := NewPeer2PeerDiscovery(" ", ""); !errors.Is(err, ErrBadDiscovery) {
		t.Fatalf("empty server: %v", err)
	}
	d, err := NewPeer2PeerDiscovery("tcp@127.0.0.1:8972", "weight=3")
	if err != nil {
		t.Fatal(err)
	}
	got := d.GetServices()
	if len(got) != 1 || got[0].Key != "tcp@127.0.0.1:8972" || got[0].Value != "weight=3" {
		t.Fatalf("services %v", got)
	}
	got[0].Key = "mutated"
	if d.GetServices()[0].Key != "tcp@127.0.0.1:8972" {
		t.Fatal("GetServices shares its pairs")
	}
	c, err := d.Clone("Other")
	if err != nil || keysOf(c.GetServices()) != "tcp@127.0.0.1:8972" {
		t.Fatalf("clone %v %v", c, err)
	}
	d.SetFilter(func(*KVPair) bool { return false })
	if len(d.GetServices()) != 0 {
		t.Fatal("filter ignored")
	}
	ch := d.WatchService()
	d.RemoveWatcher(ch)
	if _, ok := <-ch; ok {
		t.Fatal("removed watcher still open")
	}
	d.Close()
	d.Close()
	c.Close()
}

func TestMultipleServersDiscoveryUpdate(t *testing.T) {
	if _, err := NewMultipleServersDiscovery([]*KVPair{nil}); !errors.Is(err, ErrBadDiscovery) {
		t.Fatalf("nil pair: %v", err)
	}
	d, err := NewMultipleServersDiscovery([]*KVPair{{Key: "tcp@a:1"}, {Key: "tcp@b:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ch := d.WatchService()
	// A slow watcher misses intermediate lists but always gets the latest.
	d.Update([]*KVPair{{Key: "tcp@c:1"}})
	d.Update([]*KVPair{{Key: "tcp@d:1"}, nil, {Key: ""}})
	if got := keysOf(<-ch); got != "tcp@d:1" {
		t.Fatalf("watcher got %s", got)
	}
	if got := keysOf(d.GetServices()); got != "tcp@d:1" {
		t.Fatalf("services %s", got)
	}
	d.SetFilter(func(p *KVPair) bool { return p.Key != "tcp@e:1" })
	d.Update([]*KVPair{{Key: "tcp@e:1"}, {Key: "tcp@f:1"}})
	if got := keysOf(<-ch); got != "tcp@f:1" {
		t.Fatalf("filtered update %s", got)
	}
	d.Close()
	if _, ok := <-ch; ok {
		t.Fatal("watcher open after Close")
	}
	if _, ok := <-d.WatchService(); ok {
		t.Fatal("watch after Close is open")
	}
}

func TestDNSDiscovery(t *testing.T) {
	if _, err := NewDNSDiscovery("", "tcp", 80, time.Second); !errors.Is(err, ErrBadDiscovery) {
		t.Fatalf("empty domain: %v", err)
	}
	if _, err := NewDNSDiscovery("localhost", "tcp", 0, time.Second); !errors.Is(err, ErrBadDiscovery) {
		t.Fatalf("port 0: %v", err)
	}
	d, err := NewDNSDiscovery("localhost", "tcp", 8972, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got := keysOf(d.GetServices())
	if !strings.Contains(got, "tcp@127.0.0.1:8972") && !strings.Contains(got, "tcp@[::1]:8972") {
		t.Fatalf("localhost resolved to %q", got)
	}
	d.Close()
	d.Close()

	// A changing answer reaches watchers; a failed lookup keeps the list.
	answers := make(chan []string, 4)
	lookup := func(ctx context.Context, host string) ([]string, error) {
		select {
		case a := <-answers:
			if a == nil {
				return nil, errors.New("no such host")
			}
			return a, nil
		default:
			return []string{"10.0.0.1"}, nil
		}
	}
	dd, err := newDNSDiscovery("svc.local", "", 1, 5*time.Millisecond, lookup)
	if err != nil {
		t.Fatal(err)
	}
	defer dd.Close()
	ch := dd.WatchService()
	answers <- nil
	answers <- []string{"10.0.0.2", "10.0.0.1", "10.0.0.2"}
	select {
	case pairs := <-ch:
		if got := keysOf(pairs); got != "tcp@10.0.0.1:1,tcp@10.0.0.2:1" {
			t.Fatalf("update %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no update")
	}
	c, err := dd.Clone("x")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestCacheDiscovery(t *testing.T) {
	file := filepath.Join(t.TempDir(), "servers.json")
	inner, _ := NewMultipleServersDiscovery([]*KVPair{{Key: "tcp@a:1"}, {Key: "tcp@b:1"}})
	d := CacheDiscovery(2, file, inner)
	ch := d.WatchService()
	inner.Update([]*KVPair{{Key: "tcp@a:1"}}) // below threshold: keep a,b
	if got := keysOf(<-ch); got != "tcp@a:1,tcp@b:1" {
		t.Fatalf("after shrink %s", got)
	}
	inner.Update([]*KVPair{{Key: "tcp@c:1"}, {Key: "tcp@d:1"}})
	if got := keysOf(<-ch); got != "tcp@c:1,tcp@d:1" {
		t.Fatalf("after good update %s", got)
	}
	d.Close()
	if _, ok := <-ch; ok {
		t.Fatal("watcher open after Close")
	}
	// A new client during an outage (empty registry) starts from the file.
	empty, _ := NewMultipleServersDiscovery(nil)
	d2 := CacheDiscovery(1, file, empty)
	defer d2.Close()
	if got := keysOf(d2.GetServices()); got != "tcp@c:1,tcp@d:1" {
		t.Fatalf("from file %s", got)
	}
	c, err := d2.Clone("Arith")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// A corrupt file is ignored.
	if err := os.WriteFile(file, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty2, _ := NewMultipleServersDiscovery(nil)
	d3 := CacheDiscovery(0, file, empty2)
	defer d3.Close()
	if len(d3.GetServices()) != 0 {
		t.Fatal("corrupt file used")
	}
}
