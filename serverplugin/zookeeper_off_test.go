//go:build !zookeeper

package serverplugin

import (
	"errors"
	"strings"
	"testing"
)

// TestZooKeeperNotCompiled: without the "zookeeper" tag Start fails with an error naming
// the tag, and Register only records the service.
func TestZooKeeperNotCompiled(t *testing.T) {
	p := NewZooKeeperRegisterPlugin(WithZKServiceAddress("tcp@127.0.0.1:1"), WithZKServersAddress([]string{"127.0.0.1:2"}))
	if err := p.Start(); !errors.Is(err, ErrZooKeeperNotCompiled) || !strings.Contains(err.Error(), "-tags zookeeper") {
		t.Fatalf("Start: %v, want ErrZooKeeperNotCompiled", err)
	}
	if err := p.Register("Arith", nil, ""); err != nil { // recorded until a Start succeeds
		t.Fatalf("Register: %v, want nil", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
