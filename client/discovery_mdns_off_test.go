//go:build !mdns

package client

import (
	"errors"
	"strings"
	"testing"
)

// TestMDNSDiscoveryNotCompiled: without the "mdns" tag the mdns discovery exists and
// fails with an error naming the tag.
func TestMDNSDiscoveryNotCompiled(t *testing.T) {
	nd, err := NewMDNSDiscovery("S", 0, 0, "")
	if nd == nil {
		t.Fatal("constructor returned a nil discovery")
	}
	if !errors.Is(err, ErrMDNSNotCompiled) || !strings.Contains(err.Error(), "-tags mdns") {
		t.Fatalf("constructor: %v, want ErrMDNSNotCompiled", err)
	}
	var d MDNSDiscovery
	if _, err := d.Clone("X"); !errors.Is(err, ErrMDNSNotCompiled) {
		t.Fatalf("Clone: %v", err)
	}
	ch := d.WatchService()
	d.Close()
	if _, ok := <-ch; ok || len(d.GetServices()) != 0 {
		t.Fatal("zero value lists servers or keeps its watcher open")
	}
}
