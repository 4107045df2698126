package serverplugin_test

import (
	"net"

	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

func ExampleBlacklistPlugin() {
	_, private, _ := net.ParseCIDR("10.0.0.0/8")
	s := server.NewServer()
	s.Plugins.Add(&serverplugin.BlacklistPlugin{
		Blacklist:     map[string]bool{"192.0.2.7": true, "2001:db8::7": true},
		BlacklistMask: []*net.IPNet{private},
	})
	// Connections from those addresses are closed as soon as they are accepted.
}
