package testutils

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/server"
)

// ExtraTransports are the transports that need a server-made listener:
// reuseport (Linux), and quic / kcp in builds with their tags (where the
// tag is missing, Listen skips the test). kcpOptions is set by
// matrix_kcp.go (tag kcp).
func ExtraTransports() []Transport {
	return []Transport{
		{Name: "reuseport", Listen: serverListen("reuseport", false, nil)},
		{Name: "quic", Listen: serverListen("quic", true, nil)},
		{Name: "kcp", Listen: serverListen("kcp", false, kcpOptions)},
	}
}

// kcpOptions returns the server options and client Block of the kcp
// transport; nil in builds without -tags kcp.
var kcpOptions func() (opts []server.OptionFn, block any)

// serverListen makes the listener with a throwaway server's Listen (which
// captures the options at creation) and returns the network and TLS config
// the client dials with. The client's Option.Block for kcp comes from
// KCPBlock.
func serverListen(network string, withTLS bool, extra func() ([]server.OptionFn, any)) func(t testing.TB) (net.Listener, string, string, *tls.Config) {
	return func(t testing.TB) (net.Listener, string, string, *tls.Config) {
		var opts []server.OptionFn
		var clientTLS *tls.Config
		if withTLS {
			pair, err := TLS()
			must(t, err)
			opts = append(opts, server.WithTLSConfig(pair.ServerConfig(false)))
			clientTLS = pair.ClientConfig(false)
		}
		if network == "kcp" {
			if kcpOptions == nil {
				t.Skip("kcp: build with -tags kcp")
			}
			o, _ := kcpOptions()
			opts = append(opts, o...)
		}
		ln, err := server.NewServer(opts...).Listen(network, "127.0.0.1:0")
		if err != nil && strings.Contains(err.Error(), "not compiled in") {
			t.Skipf("%s: %v", network, err)
		}
		must(t, err)
		t.Cleanup(func() { ln.Close() })
		return ln, network, ln.Addr().String(), clientTLS
	}
}

// KCPBlock returns the kcp.BlockCrypt the client must put in Option.Block
// for the kcp transport (nil without -tags kcp).
func KCPBlock() any {
	if kcpOptions == nil {
		return nil
	}
	_, b := kcpOptions()
	return b
}
