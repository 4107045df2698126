package client

import "net"

func init() { ConnFactories["reuseport"] = dialReuseport }

// dialReuseport dials a server listening on the "reuseport" network: it is
// plain TCP (with TLS when configured), so "reuseport@host:port" addresses
// copied from a server's Serve call work in discoveries.
func dialReuseport(c *Client, _, address string) (net.Conn, error) {
	return dialStream(c, "tcp", address)
}
