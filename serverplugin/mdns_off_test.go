//go:build !mdns

package serverplugin

import (
	"errors"
	"strings"
	"testing"
)

// TestMDNSNotCompiled: without the "mdns" tag Start fails with an error naming
// the tag, and Register only records the service.
func TestMDNSNotCompiled(t *testing.T) {
	p := NewMDNSRegisterPlugin("tcp@127.0.0.1:1", 0, nil, 0, "")
	if err := p.Start(); !errors.Is(err, ErrMDNSNotCompiled) || !strings.Contains(err.Error(), "-tags mdns") {
		t.Fatalf("Start: %v, want ErrMDNSNotCompiled", err)
	}
	if err := p.Register("Arith", nil, ""); err != nil { // recorded until a Start succeeds
		t.Fatalf("Register: %v, want nil", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
