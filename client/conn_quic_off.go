//go:build !quic

package client

import (
	"errors"
	"net"
)

// errQUICOff is the error of dialing quic in a build without QUIC.
var errQUICOff = errors.New("courier: quic support not compiled in; rebuild with -tags quic")

func init() {
	ConnFactories["quic"] = func(*Client, string, string) (net.Conn, error) { return nil, errQUICOff }
}
