package cross

import (
	"strings"
	"testing"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	rclient "github.com/smallnest/rpcx/client"
)

// TestRpcxWebSocketClient: rpcx's "ws" network (golang.org/x/net/websocket,
// which sends text frames) reaches a courier server on its tcp port, for a
// small call and one whose frame spans several WebSocket frames.
func TestRpcxWebSocketClient(t *testing.T) {
	srv := startCourierServer(t, serverConfig{})
	c := rclient.NewClient(rpcxOption(stJSON, false))
	if err := c.Connect("ws", srv.addr()); err != nil {
		t.Fatalf("rpcx Connect ws %s: %v", srv.addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var r testsvc.Reply
	if err := c.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 6, B: 7}, &r); err != nil || r.C != 42 {
		t.Fatalf("Call Mul over ws: %d, %v", r.C, err)
	}
	big := strings.Repeat("x", 300<<10)
	var b testsvc.Blob
	if err := c.Call(ctxTimeout(t), "Arith", "EchoBlob", &testsvc.Blob{Data: big}, &b); err != nil || b.Data != big {
		t.Fatalf("Call EchoBlob over ws: %d bytes, %v", len(b.Data), err)
	}
}
