package serverplugin_test

import (
	"net"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

func TestAliasEndToEnd(t *testing.T) {
	a := serverplugin.NewAliasPlugin()
	a.Alias("a.b.c.d", "Times", "Arith", "Mul")
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(a) })
	c := dial(t, addr)
	tests := []struct {
		name, path, method string
	}{
		{"alias", "a.b.c.d", "Times"},
		{"real name still works", "Arith", "Mul"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := &testutils.Reply{}
			if err := c.Call(callCtx(t, nil), tt.path, tt.method, &testutils.Args{A: 10, B: 20}, reply); err != nil {
				t.Fatal(err)
			}
			if reply.C != 200 {
				t.Fatalf("got %d, want 200", reply.C)
			}
		})
	}
	// The XClient of the guide: a service path that exists only as alias.
	d, err := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatal(err)
	}
	xc := client.NewXClient("a.b.c.d", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	t.Cleanup(func() { xc.Close() })
	reply := &testutils.Reply{}
	if err := xc.Call(callCtx(t, nil), "Times", &testutils.Args{A: 6, B: 7}, reply); err != nil || reply.C != 42 {
		t.Fatalf("XClient alias call: %d, %v", reply.C, err)
	}
	if err := c.Call(callCtx(t, nil), "a.b.c.d", "Plus", &testutils.Args{}, reply); err == nil {
		t.Fatal("an unaliased method of the alias path succeeded")
	}
}

// rawCall sends one Arith request for path.method with sequence number seq
// over a fresh connection to addr and returns the response frame.
func rawCall(t *testing.T, addr, path, method string, seq uint64) *protocol.Message {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	payload, err := codec.MsgpackCodec{}.Encode(&testutils.Args{A: 2, B: 21})
	if err != nil {
		t.Fatal(err)
	}
	req := protocol.NewMessage()
	req.SetMessageType(protocol.Request)
	req.SetSerializeType(protocol.MsgPack)
	req.SetSeq(seq)
	req.ServicePath, req.ServiceMethod, req.Payload = path, method, payload
	if _, err := req.WriteTo(conn); err != nil {
		t.Fatal(err)
	}
	res, err := protocol.Read(conn)
	if err != nil {
		t.Fatal(err)
	}
	if res.Seq() != seq || res.MessageStatusType() != protocol.Normal {
		t.Fatalf("response seq %d status %v, want %d normal (%s)", res.Seq(), res.MessageStatusType(), seq, res.Metadata[protocol.ServiceError])
	}
	var reply testutils.Reply
	if err := (codec.MsgpackCodec{}).Decode(res.Payload, &reply); err != nil || reply.C != 42 {
		t.Fatalf("reply %d, %v; want 42", reply.C, err)
	}
	return res
}

func TestAliasResponseNamesOnTheWire(t *testing.T) {
	tests := []struct {
		name                 string
		responsePlugin       bool
		wantPath, wantMethod string
	}{
		// Without ResponsePlugin the response names the real method; the
		// client matches it by sequence number anyway.
		{"alias plugin only", false, "Arith", "Mul"},
		{"with ResponsePlugin", true, "a.b.c.d", "Times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := serverplugin.NewAliasPlugin()
			a.Alias("a.b.c.d", "Times", "Arith", "Mul")
			_, addr := startServer(t, func(s *server.Server) {
				s.Plugins.Add(a)
				if tt.responsePlugin {
					s.Plugins.Add(a.ResponsePlugin())
				}
			})
			res := rawCall(t, addr, "a.b.c.d", "Times", 77)
			if res.ServicePath != tt.wantPath || res.ServiceMethod != tt.wantMethod {
				t.Fatalf("response names %s.%s, want %s.%s", res.ServicePath, res.ServiceMethod, tt.wantPath, tt.wantMethod)
			}
		})
	}
}
