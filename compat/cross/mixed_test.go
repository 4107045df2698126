package cross

import (
	"testing"

	cclient "github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/compat/internal/testsvc"
	rclient "github.com/smallnest/rpcx/client"
)

// countRequests counts request frames for method that reached srv.
func countRequests(t *testing.T, srv *testServer, method string) int {
	t.Helper()
	frames, err := testsvc.Frames(srv.tap.ClientBytes())
	if err != nil {
		t.Fatalf("%s server stream: %v", srv.kind, err)
	}
	n := 0
	for _, f := range frames {
		if _, m := f.Method(); m == method && !f.IsResponse() {
			n++
		}
	}
	return n
}

// TestMixedCluster: during a migration one service runs on rpcx and
// courier servers at once; XClients of both kinds spread calls over both
// with RoundRobin and every call succeeds.
func TestMixedCluster(t *testing.T) {
	const calls = 20
	t.Run("rpcx-xclient", func(t *testing.T) {
		rs, cs := startRpcxServer(t, serverConfig{}), startCourierServer(t, serverConfig{})
		d, err := rclient.NewMultipleServersDiscovery([]*rclient.KVPair{{Key: "tcp@" + rs.addr()}, {Key: "tcp@" + cs.addr()}})
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		xc := rclient.NewXClient("Arith", rclient.Failover, rclient.RoundRobin, d, rpcxOption(stMsgPack, false))
		t.Cleanup(func() { _ = xc.Close() })
		for i := range calls {
			var r testsvc.Reply
			if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: i, B: 2}, &r); err != nil || r.C != 2*i {
				t.Fatalf("call %d: %d, %v", i, r.C, err)
			}
		}
		if a, b := countRequests(t, rs, "Mul"), countRequests(t, cs, "Mul"); a != calls/2 || b != calls/2 {
			t.Fatalf("rpcx server got %d calls, courier server %d; want %d each", a, b, calls/2)
		}
	})
	t.Run("courier-xclient", func(t *testing.T) {
		rs, cs := startRpcxServer(t, serverConfig{}), startCourierServer(t, serverConfig{})
		d, err := cclient.NewMultipleServersDiscovery([]*cclient.KVPair{{Key: "tcp@" + rs.addr()}, {Key: "tcp@" + cs.addr()}})
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		xc := cclient.NewXClient("Arith", cclient.Failover, cclient.RoundRobin, d, courierOption(stMsgPack, false))
		t.Cleanup(func() { _ = xc.Close() })
		for i := range calls {
			var r testsvc.Reply
			if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: i, B: 2}, &r); err != nil || r.C != 2*i {
				t.Fatalf("call %d: %d, %v", i, r.C, err)
			}
		}
		if a, b := countRequests(t, rs, "Mul"), countRequests(t, cs, "Mul"); a != calls/2 || b != calls/2 {
			t.Fatalf("rpcx server got %d calls, courier server %d; want %d each", a, b, calls/2)
		}
	})
}
