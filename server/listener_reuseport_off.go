//go:build !linux || mips || mipsle || mips64 || mips64le || sparc64

package server

import (
	"errors"
	"net"
)

// errReuseportOff is the error of Serve("reuseport", ...) where courier
// does not support SO_REUSEPORT.
var errReuseportOff = errors.New("courier: reuseport is supported on Linux only")

func init() {
	RegisterMakeListener("reuseport", func(*Server, string) (net.Listener, error) { return nil, errReuseportOff })
}
