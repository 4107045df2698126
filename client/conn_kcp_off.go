//go:build !kcp

package client

import (
	"errors"
	"net"
)

// errKCPOff is the error of dialing kcp in a build without KCP.
var errKCPOff = errors.New("courier: kcp support not compiled in; rebuild with -tags kcp")

func init() {
	ConnFactories["kcp"] = func(*Client, string, string) (net.Conn, error) { return nil, errKCPOff }
}
