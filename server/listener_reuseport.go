//go:build linux && !mips && !mipsle && !mips64 && !mips64le && !sparc64

package server

import (
	"context"
	"net"
	"syscall"
)

// soReusePort is SO_REUSEPORT on Linux (15 on the architectures this file
// builds for; the syscall package does not define it for Linux).
const soReusePort = 0xf

func init() { RegisterMakeListener("reuseport", reuseportMakeListener) }

// reuseportMakeListener listens on TCP with SO_REUSEADDR and SO_REUSEPORT
// set, so several servers (in one process or several) can serve the same
// address; the kernel spreads new connections among them. The address may
// be IPv4 or IPv6 ("[::1]:8972"). TLS applies as on tcp.
func reuseportMakeListener(s *Server, address string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: s.keepAlive, Control: reusePortControl}
	ln, err := lc.Listen(context.Background(), "tcp", address)
	if err != nil {
		return nil, err
	}
	return s.WrapTLS(ln), nil
}

func reusePortControl(network, address string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); serr != nil {
			return
		}
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
