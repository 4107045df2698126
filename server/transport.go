package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
)

// Errors of the optional transports (quic, kcp, reuseport). They exist in
// every build; the transports themselves need build tags (see doc.go).
var (
	// ErrQUICNeedsTLS is returned by Serve("quic", ...) when no TLS config
	// was set with WithTLSConfig: QUIC always runs TLS 1.3.
	ErrQUICNeedsTLS = errors.New("server: TLSConfig must be configured in server.Options for quic")
	// ErrKCPNeedsBlockCrypt is returned by Serve("kcp", ...) when no block
	// cipher was set with WithBlockCrypt (tag kcp).
	ErrKCPNeedsBlockCrypt = errors.New("server: KCP BlockCrypt must be configured in server.Options")
)

// tlsStater is a connection that knows its TLS state: *tls.Conn and the
// connections of the quic transport.
type tlsStater interface {
	ConnectionState() tls.ConnectionState
}

// PeerCertificates returns the verified certificate chain the client
// presented on the connection of a handler ctx (the leaf first), or nil
// when the connection is not TLS or the client sent no certificate. It
// works in handlers, AuthFunc and plugins that get the request ctx, on
// every TLS transport (tcp, unix, memu, kcp with WithTLSConfig, and quic).
// With tls.RequireAndVerifyClientCert the chain was verified against
// ClientCAs during the handshake, so the leaf's Subject, DNSNames or URIs
// identify the client:
//
//	s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
//		certs := server.PeerCertificates(ctx)
//		if len(certs) == 0 || !allowed[certs[0].Subject.CommonName] {
//			return share.NewError(share.CodePermissionDenied, "not allowed")
//		}
//		return nil
//	}
func PeerCertificates(ctx context.Context) []*x509.Certificate {
	nc, _ := ctx.Value(RemoteConnContextKey).(net.Conn)
	return PeerCertificatesOf(nc)
}

// PeerCertificatesOf is PeerCertificates for a connection (for example in
// a PostConnAcceptPlugin, which runs after the TLS handshake).
func PeerCertificatesOf(nc net.Conn) []*x509.Certificate {
	st, ok := nc.(tlsStater)
	if !ok {
		return nil
	}
	return st.ConnectionState().PeerCertificates
}

// Listen creates the listener that Serve(network, address) would serve,
// with the server's TLS config and transport options, without serving it:
// pass it to ServeListener (for example to learn a free port first, or to
// serve it from another server). It fails like Serve for unknown networks
// and for quic/kcp without their options or build tags.
func (s *Server) Listen(network, address string) (net.Listener, error) {
	return s.makeListener(network, address)
}
