//go:build !consul

package serverplugin

import (
	"errors"
	"strings"
	"testing"
)

// TestConsulNotCompiled: without the "consul" tag Start fails with an error naming
// the tag, and Register only records the service.
func TestConsulNotCompiled(t *testing.T) {
	p := NewConsulRegisterPlugin(WithConsulServiceAddress("tcp@127.0.0.1:1"), WithConsulServers([]string{"127.0.0.1:2"}))
	if err := p.Start(); !errors.Is(err, ErrConsulNotCompiled) || !strings.Contains(err.Error(), "-tags consul") {
		t.Fatalf("Start: %v, want ErrConsulNotCompiled", err)
	}
	if err := p.Register("Arith", nil, ""); err != nil { // recorded until a Start succeeds
		t.Fatalf("Register: %v, want nil", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
