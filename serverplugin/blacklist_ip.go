package serverplugin

import (
	"net"
	"net/netip"
)

// remoteIP returns the IP address of conn's remote end without zone, IPv4
// addresses mapped into IPv6 unmapped, and ok = false when the remote
// address is not an IP address (Unix sockets, in-memory pipes).
func remoteIP(conn net.Conn) (netip.Addr, bool) {
	if conn == nil {
		return netip.Addr{}, false
	}
	addr := conn.RemoteAddr()
	if addr == nil {
		return netip.Addr{}, false
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.IPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		host, _, err := net.SplitHostPort(addr.String())
		if err != nil {
			host = addr.String()
		}
		ip, _ = netip.ParseAddr(host)
	}
	if !ip.IsValid() {
		return netip.Addr{}, false
	}
	return ip.WithZone("").Unmap(), true
}

// ipListed reports whether ip is a key of list or inside one of masks. Keys
// match in canonical form ("10.0.0.1", "2001:db8::1"), in fully expanded
// IPv6 form ("2001:0db8:0000:...:0001") and, for IPv4 clients, as
// IPv4-mapped IPv6 ("::ffff:10.0.0.1").
func ipListed(ip netip.Addr, list map[string]bool, masks []*net.IPNet) bool {
	if len(list) > 0 {
		if list[ip.String()] {
			return true
		}
		if ip.Is4() {
			if list["::ffff:"+ip.String()] {
				return true
			}
		} else if list[ip.StringExpanded()] {
			return true
		}
	}
	std := net.IP(ip.AsSlice())
	for _, m := range masks {
		if m != nil && m.Contains(std) {
			return true
		}
	}
	return false
}
