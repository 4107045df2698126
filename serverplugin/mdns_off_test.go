//go:build !mdns

package serverplugin

import (
	"errors"
	"strings"
	"testing"
)

// TestMDNSNotCompiled: without the "mdns" tag Start fails with an error naming
// the tag, and the hooks report the plugin as not started.
func TestMDNSNotCompiled(t *testing.T) {
	p := NewMDNSRegisterPlugin("tcp@127.0.0.1:1", 0, nil, 0, "")
	if err := p.Start(); !errors.Is(err, ErrMDNSNotCompiled) || !strings.Contains(err.Error(), "-tags mdns") {
		t.Fatalf("Start: %v, want ErrMDNSNotCompiled", err)
	}
	if err := p.Register("Arith", nil, ""); !errors.Is(err, ErrRegistryNotStarted) {
		t.Fatalf("Register: %v, want ErrRegistryNotStarted", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
