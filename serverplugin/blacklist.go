package serverplugin

import "net"

// BlacklistPlugin refuses connections from listed client IP addresses.
// Blacklist holds addresses (keys with value true: "10.0.0.1", "::1");
// BlacklistMask holds networks (from net.ParseCIDR). IPv4 and IPv6 are both
// matched; an IPv4 client reaching an IPv6 listener matches its IPv4 form.
// Connections whose remote address is not an IP (Unix sockets, memu pipes)
// are let through.
//
// The zero value refuses nothing. Fill the fields before the server starts;
// afterwards the plugin only reads them and is safe for concurrent use.
type BlacklistPlugin struct {
	Blacklist     map[string]bool
	BlacklistMask []*net.IPNet
}

// HandleConnAccept returns conn, false (the server then closes conn) when
// the client's IP is listed, and conn, true otherwise. It implements
// server.PostConnAcceptPlugin.
func (plugin *BlacklistPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	ip, ok := remoteIP(conn)
	if !ok {
		return conn, true
	}
	return conn, !ipListed(ip, plugin.Blacklist, plugin.BlacklistMask)
}
