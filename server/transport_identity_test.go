package server_test

import (
	"context"
	"net"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// identityNetworks are the networks TestMTLSIdentity runs on; the quic
// build adds quic.
var identityNetworks = []string{"tcp", "reuseport"}

// Scenario 32 (rpcx#177): mutual TLS where the server authorizes by the
// client certificate's identity. An allowed certificate succeeds and the
// handler sees the identity; a valid certificate with another identity
// fails with CodePermissionDenied.
func TestMTLSIdentity(t *testing.T) {
	ids, err := testutils.NewTLSIdentities("alice", "mallory")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"alice": true}
	for _, network := range identityNetworks {
		t.Run(network, func(t *testing.T) {
			s := server.NewServer(server.WithTLSConfig(ids.ServerConfig()))
			s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
				certs := server.PeerCertificates(ctx)
				if len(certs) == 0 {
					return share.NewError(share.CodeUnauthenticated, "no client certificate")
				}
				if cn := certs[0].Subject.CommonName; !allowed[cn] {
					return share.NewError(share.CodePermissionDenied, "client "+cn+" is not allowed")
				}
				return nil
			}
			err := server.Handle(s, "Who", "Am", func(ctx context.Context, _ *string, res *string) error {
				*res = server.PeerCertificates(ctx)[0].Subject.CommonName
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			addr := serveOn(t, s, network, "127.0.0.1:0")
			dialNet := network
			if network == "reuseport" {
				dialNet = "tcp"
			}
			call := func(name string) (string, error) {
				opt := client.DefaultOption
				opt.ConnectTimeout = 5 * time.Second
				opt.TLSConfig = ids.ClientConfig(name)
				c := connect(t, opt, dialNet, addr)
				var who string
				err := c.Call(t.Context(), "Who", "Am", "", &who)
				return who, err
			}
			if who, err := call("alice"); err != nil || who != "alice" {
				t.Fatalf("alice: %q, %v", who, err)
			}
			_, err = call("mallory")
			if share.CodeOf(err) != share.CodePermissionDenied {
				t.Fatalf("mallory: %v (code %v), want PermissionDenied", err, share.CodeOf(err))
			}
			if _, ok := err.(client.ServiceError); !ok {
				t.Fatalf("mallory: %T is not a ServiceError", err)
			}
		})
	}
}

func TestPeerCertificatesWithoutTLS(t *testing.T) {
	if got := server.PeerCertificates(context.Background()); got != nil {
		t.Fatalf("no conn: %v", got)
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	if got := server.PeerCertificatesOf(c1); got != nil {
		t.Fatalf("plain conn: %v", got)
	}
}
