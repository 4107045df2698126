package serverplugin

import (
	"net"
	"testing"
	"time"
)

// addrConn is a net.Conn that only has a remote address.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// tcpConn returns a conn whose remote end is ip (with an optional zone).
func tcpConn(ip, zone string) net.Conn {
	return addrConn{remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 4242, Zone: zone}}
}

// strAddr is a net.Addr of any network.
type strAddr struct{ network, s string }

func (a strAddr) Network() string { return a.network }
func (a strAddr) String() string  { return a.s }

// mustCIDR parses a network.
func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ipCases are connections and whether they match the lists lists builds.
var ipCases = []struct {
	name   string
	conn   net.Conn
	listed bool
	isIP   bool
}{
	{"ipv4 exact", tcpConn("10.0.0.1", ""), true, true},
	{"ipv4 not listed", tcpConn("10.0.0.2", ""), false, true},
	{"ipv4 in mask", tcpConn("192.168.7.9", ""), true, true},
	{"ipv4 outside mask", tcpConn("192.169.0.1", ""), false, true},
	{"ipv4 mapped into ipv6", addrConn{remote: &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1").To16(), Port: 1}}, true, true},
	{"ipv4 key written mapped", tcpConn("10.0.0.3", ""), true, true},
	{"ipv6 loopback", tcpConn("::1", ""), true, true},
	{"ipv6 key expanded", tcpConn("2001:db8::5", ""), true, true},
	{"ipv6 in mask", tcpConn("fd00::1234", ""), true, true},
	{"ipv6 not listed", tcpConn("2001:db8::6", ""), false, true},
	{"ipv6 link-local with zone", tcpConn("fe80::1", "eth0"), true, true},
	{"host:port string addr", addrConn{remote: strAddr{"tcp", "10.0.0.1:80"}}, true, true},
	{"unix socket", addrConn{remote: strAddr{"unix", "@"}}, false, false},
	{"memu pipe", addrConn{remote: strAddr{"memu", "pipe"}}, false, false},
	{"nil remote addr", addrConn{}, false, false},
}

// lists returns the address list and masks ipCases are written against.
func lists(t *testing.T) (map[string]bool, []*net.IPNet) {
	t.Helper()
	return map[string]bool{
			"10.0.0.1":        true,
			"::ffff:10.0.0.3": true,
			"::1":             true,
			"2001:0db8:0000:0000:0000:0000:0000:0005": true,
			"fe80::1":  true,
			"10.0.0.2": false, // false values do not list
		}, []*net.IPNet{
			mustCIDR(t, "192.168.0.0/16"),
			mustCIDR(t, "fd00::/8"),
			nil, // ignored
		}
}

func TestBlacklist(t *testing.T) {
	list, masks := lists(t)
	p := &BlacklistPlugin{Blacklist: list, BlacklistMask: masks}
	for _, tt := range ipCases {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := p.HandleConnAccept(tt.conn)
			if c != tt.conn {
				t.Fatal("conn replaced")
			}
			if want := !tt.listed; ok != want {
				t.Fatalf("accepted = %v, want %v", ok, want)
			}
		})
	}
	var zero BlacklistPlugin
	if _, ok := zero.HandleConnAccept(tcpConn("10.0.0.1", "")); !ok {
		t.Fatal("zero BlacklistPlugin refused")
	}
	if _, ok := zero.HandleConnAccept(nil); !ok {
		t.Fatal("nil conn refused by zero blacklist")
	}
}

func TestWhitelist(t *testing.T) {
	list, masks := lists(t)
	p := &WhitelistPlugin{Whitelist: list, WhitelistMask: masks}
	for _, tt := range ipCases {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := p.HandleConnAccept(tt.conn)
			if want := tt.listed && tt.isIP; ok != want {
				t.Fatalf("accepted = %v, want %v", ok, want)
			}
		})
	}
	var zero WhitelistPlugin
	if _, ok := zero.HandleConnAccept(tcpConn("127.0.0.1", "")); ok {
		t.Fatal("zero WhitelistPlugin accepted")
	}
}

func TestBlacklistRealConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	cc, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { sc.Close() })
	black := &BlacklistPlugin{BlacklistMask: []*net.IPNet{mustCIDR(t, "127.0.0.0/8")}}
	if _, ok := black.HandleConnAccept(sc); ok {
		t.Fatal("loopback connection not refused by 127.0.0.0/8")
	}
	white := &WhitelistPlugin{Whitelist: map[string]bool{"127.0.0.1": true}}
	if _, ok := white.HandleConnAccept(sc); !ok {
		t.Fatal("loopback connection refused by whitelist of 127.0.0.1")
	}
}
