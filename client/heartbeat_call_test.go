package client

import (
	"context"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// rpcx: Call with an empty service path and method is a heartbeat whose
// payload (MessagePack, whatever the option's codec) comes back as the reply.
func TestCallEmptyPathIsHeartbeat(t *testing.T) {
	for _, st := range []protocol.SerializeType{protocol.JSON, protocol.MsgPack} {
		t.Run(st.String(), func(t *testing.T) {
			s := startTestServer(t, "memu", nil)
			opt := DefaultOption
			opt.SerializeType = st
			c := dialTest(t, s, opt)
			req, reply := int64(1234567890123), int64(0)
			if err := c.Call(context.Background(), "", "", &req, &reply); err != nil {
				t.Fatal(err)
			}
			if reply != req {
				t.Fatalf("reply %d, want the echoed %d", reply, req)
			}
			if n := s.heartbeats.Load(); n != 1 {
				t.Fatalf("server saw %d heartbeats, want 1", n)
			}
			// Only both empty make a heartbeat.
			if err := c.Call(context.Background(), "S", "Echo", &echoArgs{}, new(ignored)); err != nil {
				t.Fatal(err)
			}
			if n := s.heartbeats.Load(); n != 1 {
				t.Fatalf("an ordinary call counted as a heartbeat (%d)", n)
			}
		})
	}
}
