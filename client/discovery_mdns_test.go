//go:build mdns

package client

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

// TestRegistryMDNSOnly holds what only mDNS has: metadata carried in TXT
// strings (at most 255 bytes each, many services split over several),
// interfaces to browse on, and readiness without a store that
// registryadmin could read (TestRegistryReadyOncePublished). It runs in the network namespace with the
// suite's mDNS subtests (discovery_kit_mdns_test.go).
func TestRegistryMDNSOnly(t *testing.T) {
	forKit(t, "mdns", func(t *testing.T, k *registryKit, _ []string) {
		t.Run("MetadataTooLongForTXT", func(t *testing.T) {
			p := k.plugin(t, nil, "", "tcp@127.0.0.1:7001", nil)
			if err := p.Register("Big", nil, strings.Repeat("x", 300)); !errors.Is(err, serverplugin.ErrRegistryConfig) {
				t.Fatalf("metadata longer than a TXT string: %v, want ErrRegistryConfig", err)
			}
		})
		t.Run("ManyServicesSplitTXT", func(t *testing.T) {
			services := map[string]string{}
			for i := 0; i < 8; i++ {
				services[fmt.Sprintf("Service%d", i)] = "weight=1&group=some-long-group-name"
			}
			k.plugin(t, nil, "", "tcp@127.0.0.1:7051", services)
			waitList(t, k.discovery(t, nil, "", "Service7"), "tcp@127.0.0.1:7051=weight=1&group=some-long-group-name", 5*time.Second)
		})
		t.Run("PortAndDomainGiven", func(t *testing.T) {
			p := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7002", 7002, nil, 0, "local")
			p.Interfaces = mdnsIfaces()
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Stop() })
			if err := p.Register("Arith", nil, "group=p"); err != nil {
				t.Fatal(err)
			}
			waitList(t, k.discovery(t, nil, "", "Arith"), "tcp@127.0.0.1:7002=group=p", 5*time.Second)
		})
		t.Run("ReadyOnceAnnounced", testMDNSReadyOnceAnnounced)
		t.Run("NoUsableInterface", func(t *testing.T) {
			bogus := []net.Interface{{Index: 9999, Name: "nope0", Flags: net.FlagUp | net.FlagMulticast}}
			d, err := NewMDNSDiscoveryOnInterfaces("Arith", 50*time.Millisecond, time.Second, "", bogus)
			if !errors.Is(err, share.ErrRegistryUnavailable) || d == nil {
				t.Fatalf("no usable interface: %v (discovery %v), want ErrRegistryUnavailable and a discovery that keeps browsing", err, d)
			}
			defer d.Close()
			if got := d.GetServices(); len(got) != 0 {
				t.Fatalf("no usable interface, but lists %v", got)
			}
		})
	})
}

// notifyCounter counts NotifyReadiness calls (a register plugin's Server).
type notifyCounter struct{ n atomic.Int32 }

func (c *notifyCounter) NotifyReadiness() { c.n.Add(1) }

// testMDNSReadyOnceAnnounced: the mDNS plugin is a server.ReadinessPlugin,
// ready only once its record is announced, with its Server notified.
func testMDNSReadyOnceAnnounced(t *testing.T) {
	gate := make(chan struct{})
	n := &notifyCounter{}
	p := serverplugin.NewMDNSRegisterPlugin("tcp@127.0.0.1:7010", 0, nil, 0, "")
	p.Interfaces, p.ServerStarted, p.Server = mdnsIfaces(), gate, n
	if err := p.Register("Ready", nil, "weight=1"); err != nil {
		t.Fatal(err)
	}
	if p.Ready() {
		t.Fatal("ready before Start")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if p.Ready() {
		t.Fatal("ready before ServerStarted (nothing announced)")
	}
	before := n.n.Load()
	close(gate)
	deadline := time.Now().Add(5 * time.Second)
	for !p.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready 5 s after ServerStarted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n.n.Load() == before {
		t.Fatal("became ready without NotifyReadiness")
	}
	d, err := NewMDNSDiscoveryOnInterfaces("Ready", mdnsTestTimeout, mdnsTestInterval, "", p.Interfaces)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitList(t, d, "tcp@127.0.0.1:7010=weight=1", 5*time.Second)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if p.Ready() {
		t.Fatal("ready after Stop")
	}
}
