package serverplugin

import "net"

// WhitelistPlugin accepts connections only from listed client IP addresses.
// Whitelist holds addresses (keys with value true: "10.0.0.1", "::1");
// WhitelistMask holds networks (from net.ParseCIDR). IPv4 and IPv6 are both
// matched; an IPv4 client reaching an IPv6 listener matches its IPv4 form.
// Connections whose remote address is not an IP (Unix sockets, memu pipes)
// are refused: a whitelist fails closed.
//
// The zero value refuses every connection. Fill the fields before the server
// starts; afterwards the plugin only reads them and is safe for concurrent
// use.
type WhitelistPlugin struct {
	Whitelist     map[string]bool
	WhitelistMask []*net.IPNet
}

// HandleConnAccept returns conn, true when the client's IP is listed, and
// conn, false (the server then closes conn) otherwise. It implements
// server.PostConnAcceptPlugin.
func (plugin *WhitelistPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	ip, ok := remoteIP(conn)
	if !ok {
		return conn, false
	}
	return conn, ipListed(ip, plugin.Whitelist, plugin.WhitelistMask)
}
