//go:build kcp

package server

import (
	"net"

	"github.com/xtaci/kcp-go/v5"
)

// KCP forward error correction used by rpcx: 10 data and 3 parity shards
// per group. Clients must use the same values.
const (
	kcpDataShards   = 10
	kcpParityShards = 3
)

func init() { RegisterMakeListener("kcp", kcpMakeListener) }

// WithBlockCrypt sets the block cipher of the kcp network (required by
// Serve("kcp", ...); clients set the same cipher in client.Option.Block),
// for example kcp.NewAESBlockCrypt(key). It exists only in builds with
// -tags kcp, as in rpcx.
func WithBlockCrypt(bc kcp.BlockCrypt) OptionFn {
	return func(s *Server) { s.blockCrypt = bc }
}

// kcpMakeListener listens for KCP sessions on a UDP address. Sessions are
// accepted as *kcp.UDPSession (a PostConnAcceptPlugin may assert the type
// to tune window sizes and timers) in stream mode with no-delay settings
// (SetNoDelay(1, 10, 2, 1)); with WithTLSConfig they are wrapped in TLS.
// KCP has no keep-alive: a client that disappears is noticed only through
// WithReadTimeout (or client heartbeats).
func kcpMakeListener(s *Server, address string) (net.Listener, error) {
	bc, _ := s.blockCrypt.(kcp.BlockCrypt)
	if bc == nil {
		return nil, ErrKCPNeedsBlockCrypt
	}
	ln, err := kcp.ListenWithOptions(address, bc, kcpDataShards, kcpParityShards)
	if err != nil {
		return nil, err
	}
	return s.WrapTLS(kcpListener{ln}), nil
}

// kcpListener tunes each accepted session.
type kcpListener struct{ *kcp.Listener }

// Accept returns the next session.
func (l kcpListener) Accept() (net.Conn, error) {
	sess, err := l.AcceptKCP()
	if err != nil {
		return nil, err
	}
	sess.SetStreamMode(true)
	sess.SetWriteDelay(false)
	sess.SetNoDelay(1, 10, 2, 1)
	return sess, nil
}
