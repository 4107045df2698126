//go:build !consul

package client

import (
	"errors"
	"strings"
	"testing"
)

// TestConsulDiscoveryNotCompiled: without the "consul" tag the consul discovery exists and
// fails with an error naming the tag.
func TestConsulDiscoveryNotCompiled(t *testing.T) {
	nd, err := NewConsulDiscoveryTemplate("/b", []string{"127.0.0.1:1"}, nil)
	if nd == nil {
		t.Fatal("constructor returned a nil discovery")
	}
	if !errors.Is(err, ErrConsulNotCompiled) || !strings.Contains(err.Error(), "-tags consul") {
		t.Fatalf("constructor: %v, want ErrConsulNotCompiled", err)
	}
	var d ConsulDiscovery
	if _, err := d.Clone("X"); !errors.Is(err, ErrConsulNotCompiled) {
		t.Fatalf("Clone: %v", err)
	}
	ch := d.WatchService()
	d.Close()
	if _, ok := <-ch; ok || len(d.GetServices()) != 0 {
		t.Fatal("zero value lists servers or keeps its watcher open")
	}
}
