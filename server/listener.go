package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	"github.com/courier-rpc/courier/util/memconn"
)

// MakeListener creates the listener of a network for Serve. It should wrap
// stream listeners with s's TLS config when one is set (see TLSConfig).
type MakeListener func(s *Server, address string) (ln net.Listener, err error)

var (
	makersMu sync.RWMutex
	makers   = map[string]MakeListener{
		"tcp":  tcpMakeListener("tcp"),
		"tcp4": tcpMakeListener("tcp4"),
		"tcp6": tcpMakeListener("tcp6"),
		"unix": unixMakeListener,
		"memu": memuMakeListener,
		"http": tcpMakeListener("tcp"), // HTTP CONNECT: sniffed like tcp
		"ws":   tcpMakeListener("tcp"), // WebSocket upgrade: sniffed like tcp
		"wss":  wssMakeListener,
	}
)

// RegisterMakeListener makes Serve use ml for network, replacing any
// listener maker registered for it. Call it at init time; it is safe for
// concurrent use.
func RegisterMakeListener(network string, ml MakeListener) {
	makersMu.Lock()
	defer makersMu.Unlock()
	makers[network] = ml
}

func (s *Server) makeListener(network, address string) (net.Listener, error) {
	makersMu.RLock()
	ml := makers[network]
	makersMu.RUnlock()
	if ml == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedNetwork, network)
	}
	return ml(s, address)
}

// TLSConfig returns the TLS config set with WithTLSConfig (nil: none), for
// MakeListener implementations.
func (s *Server) TLSConfig() *tls.Config { return s.tlsConfig }

// WrapTLS wraps ln with the server's TLS config, or returns ln when none is
// set. MakeListener implementations of stream networks use it.
func (s *Server) WrapTLS(ln net.Listener) net.Listener {
	if s.tlsConfig == nil {
		return ln
	}
	return tls.NewListener(ln, s.tlsConfig)
}

func tcpMakeListener(network string) MakeListener {
	return func(s *Server, address string) (net.Listener, error) {
		lc := net.ListenConfig{KeepAlive: s.keepAlive}
		ln, err := lc.Listen(context.Background(), network, address)
		if err != nil {
			return nil, err
		}
		return s.WrapTLS(ln), nil
	}
}

func unixMakeListener(s *Server, address string) (net.Listener, error) {
	ln, err := net.Listen("unix", address)
	if err != nil {
		return nil, err
	}
	return s.WrapTLS(ln), nil
}

func memuMakeListener(s *Server, address string) (net.Listener, error) {
	ln, err := memconn.Listen(address)
	if err != nil {
		return nil, err
	}
	return s.WrapTLS(ln), nil
}
