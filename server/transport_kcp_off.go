//go:build !kcp

package server

import (
	"errors"
	"net"
)

// errKCPOff is the error of Serve("kcp", ...) in a build without KCP.
// WithBlockCrypt, which takes a kcp.BlockCrypt, exists only with -tags kcp.
var errKCPOff = errors.New("courier: kcp support not compiled in; rebuild with -tags kcp")

func init() {
	RegisterMakeListener("kcp", func(*Server, string) (net.Listener, error) { return nil, errKCPOff })
}
