package serverplugin_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// cidr parses a network.
func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// callOnce connects a fresh client to addr and calls Arith.Mul(3, 5).
func callOnce(t *testing.T, addr string) error {
	t.Helper()
	c := client.NewClient(client.DefaultOption)
	t.Cleanup(func() { c.Close() })
	if err := c.Connect("tcp", addr); err != nil {
		return err
	}
	got, err := mul(callCtx(t, nil), c, 3, 5)
	if err == nil && got != 15 {
		t.Fatalf("got %d, want 15", got)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call on a refused connection hung: %v", err)
	}
	return err
}

func TestIPListsEndToEnd(t *testing.T) {
	tests := []struct {
		name   string
		plugin func(t *testing.T) server.Plugin
		served bool
	}{
		{"blacklisted address", func(t *testing.T) server.Plugin {
			return &serverplugin.BlacklistPlugin{Blacklist: map[string]bool{"127.0.0.1": true}}
		}, false},
		{"blacklisted network", func(t *testing.T) server.Plugin {
			return &serverplugin.BlacklistPlugin{BlacklistMask: []*net.IPNet{cidr(t, "127.0.0.0/8")}}
		}, false},
		{"blacklist of others", func(t *testing.T) server.Plugin {
			return &serverplugin.BlacklistPlugin{Blacklist: map[string]bool{"10.1.1.1": true}, BlacklistMask: []*net.IPNet{cidr(t, "::1/128")}}
		}, true},
		{"whitelisted address", func(t *testing.T) server.Plugin {
			return &serverplugin.WhitelistPlugin{Whitelist: map[string]bool{"127.0.0.1": true}}
		}, true},
		{"whitelisted network", func(t *testing.T) server.Plugin {
			return &serverplugin.WhitelistPlugin{WhitelistMask: []*net.IPNet{cidr(t, "127.0.0.0/8")}}
		}, true},
		{"whitelist of others", func(t *testing.T) server.Plugin {
			return &serverplugin.WhitelistPlugin{Whitelist: map[string]bool{"10.1.1.1": true}}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(tt.plugin(t)) })
			err := callOnce(t, addr)
			if tt.served && err != nil {
				t.Fatalf("call refused: %v", err)
			}
			if !tt.served && err == nil {
				t.Fatal("a refused client was served")
			}
		})
	}
}

func TestIPListsEndToEndIPv6(t *testing.T) {
	tests := []struct {
		name   string
		plugin server.Plugin
		served bool
	}{
		{"blacklisted ::1", &serverplugin.BlacklistPlugin{Blacklist: map[string]bool{"::1": true}}, false},
		{"blacklist of IPv4 loopback only", &serverplugin.BlacklistPlugin{Blacklist: map[string]bool{"127.0.0.1": true}}, true},
		{"whitelisted ::1/128", &serverplugin.WhitelistPlugin{WhitelistMask: []*net.IPNet{cidr(t, "::1/128")}}, true},
		{"whitelist of IPv4 loopback only", &serverplugin.WhitelistPlugin{Whitelist: map[string]bool{"127.0.0.1": true}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp6", "[::1]:0")
			if err != nil {
				t.Skipf("no IPv6 loopback here: %v", err)
			}
			_, addr := startServerOn(t, ln, func(s *server.Server) { s.Plugins.Add(tt.plugin) })
			err = callOnce(t, addr)
			if tt.served && err != nil {
				t.Fatalf("call refused: %v", err)
			}
			if !tt.served && err == nil {
				t.Fatal("a refused client was served")
			}
		})
	}
}
