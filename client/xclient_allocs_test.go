package client

import (
	"context"
	"testing"
)

// TestXClientCallAllocs guards the rpcx-style hot path: an XClient Call
// (Failtry, no plugins, no breaker) costs at most 1 allocation more than
// the Client.Call beneath it (the attempt closure), measured against the
// allocation-free raw echo server: selection, the retry loop, the attempt's
// observation and statistics must not allocate per call.
func TestXClientCallAllocs(t *testing.T) {
	s := startRawEcho(t, "memu")
	c := dialTest(t, s, DefaultOption)
	d, err := NewPeer2PeerDiscovery("memu@"+s.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	x := NewXClient("S", Failtry, RandomSelect, d, DefaultOption)
	defer x.Close()
	args := &echoArgs{A: 1, S: "hello"}
	var reply echoArgs
	ctx := context.Background()
	if err := x.Call(ctx, "Echo", args, &reply); err != nil { // dial
		t.Fatal(err)
	}
	base := testing.AllocsPerRun(300, func() {
		if err := c.Call(ctx, "S", "Echo", args, &reply); err != nil {
			t.Fatal(err)
		}
	})
	got := testing.AllocsPerRun(300, func() {
		if err := x.Call(ctx, "Echo", args, &reply); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Client.Call %.1f allocs, XClient.Call %.1f", base, got)
	if got > base+1 {
		t.Fatalf("XClient.Call: %.1f allocations per call, Client.Call %.1f: more than 1 extra", got, base)
	}
}
