package testutils

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/courier-rpc/courier/util/memconn"
)

// Transport is one way to connect a client to a server in the behaviour
// suite. Listen returns a listener for the server's ServeListener and the
// network, address and TLS configuration the client dials with.
type Transport struct {
	Name   string
	Listen func(t testing.TB) (ln net.Listener, network, address string, clientTLS *tls.Config)
}

var pipeSeq atomic.Int64

// Transports returns the transport matrix: in-memory pipe (memu), TCP,
// Unix socket, TLS over TCP, mutual TLS over TCP, HTTP CONNECT, WebSocket
// and WebSocket over TLS. Listeners are closed
// by t.Cleanup.
func Transports() []Transport {
	return []Transport{
		{Name: "pipe", Listen: func(t testing.TB) (net.Listener, string, string, *tls.Config) {
			name := fmt.Sprintf("courier-test-%d", pipeSeq.Add(1))
			ln, err := memconn.Listen(name)
			must(t, err)
			t.Cleanup(func() { ln.Close() })
			return ln, "memu", name, nil
		}},
		{Name: "tcp", Listen: tcpAs("tcp")},
		{Name: "unix", Listen: func(t testing.TB) (net.Listener, string, string, *tls.Config) {
			dir, err := os.MkdirTemp("", "cr") // short: socket paths are limited to ~100 bytes
			must(t, err)
			t.Cleanup(func() { os.RemoveAll(dir) })
			path := filepath.Join(dir, "s.sock")
			ln, err := net.Listen("unix", path)
			must(t, err)
			t.Cleanup(func() { ln.Close() })
			return ln, "unix", path, nil
		}},
		{Name: "tls", Listen: tlsListen(false)},
		{Name: "mtls", Listen: tlsListen(true)},
		// The server sniffs every connection, so HTTP CONNECT and WebSocket
		// clients reach a plain listener.
		{Name: "http-connect", Listen: tcpAs("http")},
		{Name: "ws", Listen: tcpAs("ws")},
		{Name: "wss", Listen: func(t testing.TB) (net.Listener, string, string, *tls.Config) {
			ln, _, addr, cfg := tlsListen(false)(t)
			return ln, "wss", addr, cfg
		}},
	}
}

// tcpAs listens on loopback TCP and has the client dial with network.
func tcpAs(network string) func(t testing.TB) (net.Listener, string, string, *tls.Config) {
	return func(t testing.TB) (net.Listener, string, string, *tls.Config) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		t.Cleanup(func() { ln.Close() })
		return ln, network, ln.Addr().String(), nil
	}
}

func tlsListen(mutual bool) func(t testing.TB) (net.Listener, string, string, *tls.Config) {
	return func(t testing.TB) (net.Listener, string, string, *tls.Config) {
		pair, err := TLS()
		must(t, err)
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		ln := tls.NewListener(inner, pair.ServerConfig(mutual))
		t.Cleanup(func() { ln.Close() })
		return ln, "tcp", inner.Addr().String(), pair.ClientConfig(mutual)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
