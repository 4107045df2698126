//go:build !zookeeper

package client

import (
	"errors"
	"strings"
	"testing"
)

// TestZooKeeperDiscoveryNotCompiled: without the "zookeeper" tag the zookeeper discovery exists and
// fails with an error naming the tag.
func TestZooKeeperDiscoveryNotCompiled(t *testing.T) {
	nd, err := NewZookeeperDiscovery("/b", "S", []string{"127.0.0.1:1"}, nil)
	if nd == nil {
		t.Fatal("constructor returned a nil discovery")
	}
	if !errors.Is(err, ErrZooKeeperNotCompiled) || !strings.Contains(err.Error(), "-tags zookeeper") {
		t.Fatalf("constructor: %v, want ErrZooKeeperNotCompiled", err)
	}
	var d ZookeeperDiscovery
	if _, err := d.Clone("X"); !errors.Is(err, ErrZooKeeperNotCompiled) {
		t.Fatalf("Clone: %v", err)
	}
	ch := d.WatchService()
	d.Close()
	if _, ok := <-ch; ok || len(d.GetServices()) != 0 {
		t.Fatal("zero value lists servers or keeps its watcher open")
	}
}
