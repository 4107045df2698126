//go:build !quic || !kcp

package server_test

import (
	"strings"
	"testing"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// TestTransportsNotCompiled: in builds without a transport's tag, serving
// and dialing it fail with an error that names the tag.
func TestTransportsNotCompiled(t *testing.T) {
	for _, network := range offNetworks() {
		t.Run(network, func(t *testing.T) {
			want := "rebuild with -tags " + network
			err := server.NewServer().Serve(network, "127.0.0.1:0")
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("serve: %v, want %q", err, want)
			}
			c := client.NewClient(client.DefaultOption)
			defer c.Close()
			if err := c.Connect(network, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("connect: %v, want %q", err, want)
			}
		})
	}
}

var offNets []string

func offNetworks() []string { return offNets }
