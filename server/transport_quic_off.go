//go:build !quic

package server

import (
	"errors"
	"net"
)

// errQUICOff is the error of Serve("quic", ...) in a build without QUIC.
var errQUICOff = errors.New("courier: quic support not compiled in; rebuild with -tags quic")

func init() {
	RegisterMakeListener("quic", func(*Server, string) (net.Listener, error) { return nil, errQUICOff })
}
