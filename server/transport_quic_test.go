//go:build quic

package server_test

import (
	"errors"
	"testing"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

func init() {
	transportCases = append(transportCases,
		transportCase{name: "quic", network: "quic", address: loopback4, serverOpts: tlsServer(false), clientOpt: tlsClient(false)},
		transportCase{name: "quic6", network: "quic", address: loopback6, serverOpts: tlsServer(false), clientOpt: tlsClient(false)},
		transportCase{name: "quic-mtls", network: "quic", address: loopback4, serverOpts: tlsServer(true), clientOpt: tlsClient(true)},
	)
	identityNetworks = append(identityNetworks, "quic")
}

func TestQUICNeedsTLS(t *testing.T) {
	s := server.NewServer()
	if err := s.Serve("quic", "127.0.0.1:0"); !errors.Is(err, server.ErrQUICNeedsTLS) {
		t.Fatalf("serve quic without TLS: %v", err)
	}
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("quic", "127.0.0.1:1"); err == nil {
		c.Close()
		t.Fatal("dial quic without TLS succeeded")
	}
}
