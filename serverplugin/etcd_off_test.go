//go:build !etcd

package serverplugin

import (
	"testing"

	"github.com/courier-rpc/courier/client"
)

// TestEtcdNotCompiled: without -tags etcd the etcd plugins and discoveries
// exist with the same signatures and fail with an error naming the tag.
func TestEtcdNotCompiled(t *testing.T) {
	starts := map[string]func() error{
		"EtcdV3RegisterPlugin": (&EtcdV3RegisterPlugin{ServiceAddress: "tcp@127.0.0.1:1", EtcdServers: []string{"127.0.0.1:2379"}}).Start,
		"EtcdRegisterPlugin":   (&EtcdRegisterPlugin{ServiceAddress: "tcp@127.0.0.1:1", EtcdServers: []string{"127.0.0.1:2379"}}).Start,
		"NewEtcdV3Discovery": func() error {
			_, err := client.NewEtcdV3Discovery("/b", "S", []string{"127.0.0.1:2379"}, true, nil)
			return err
		},
		"NewEtcdDiscoveryTemplate": func() error {
			_, err := client.NewEtcdDiscoveryTemplate("/b", []string{"127.0.0.1:2379"}, true, nil)
			return err
		},
	}
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			err := start()
			if err == nil || err.Error() != "courier: etcd support not compiled in; rebuild with -tags etcd" {
				t.Fatalf("got %v, want the not-compiled error", err)
			}
		})
	}
	p := &EtcdV3RegisterPlugin{}
	if err := p.Register("A", nil, ""); err != nil { // recorded until a Start succeeds
		t.Fatalf("Register: %v, want nil", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
