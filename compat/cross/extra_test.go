package cross

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	cclient "github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/compat/internal/testsvc"
	cprotocol "github.com/courier-rpc/courier/protocol"
	rclient "github.com/smallnest/rpcx/client"
	rprotocol "github.com/smallnest/rpcx/protocol"
)

// newRpcxClient connects rpcx's low-level Client; t.Cleanup closes it.
func newRpcxClient(t *testing.T, addr string, opt rclient.Option, ch chan<- *rprotocol.Message) *rclient.Client {
	t.Helper()
	c := rclient.NewClient(opt)
	if ch != nil {
		c.RegisterServerMessageChan(ch)
	}
	if err := c.Connect("tcp", addr); err != nil {
		t.Fatalf("rpcx Connect %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRpcxLowLevelClient: rpcx's Client (not XClient): Call, Go, and Call
// with a nil reply, which rpcx sends oneway.
func TestRpcxLowLevelClient(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		c := newRpcxClient(t, srv.addr(), rpcxOption(stJSON, false), nil)
		var r testsvc.Reply
		if err := c.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 9, B: 9}, &r); err != nil || r.C != 81 {
			t.Fatalf("Call Mul: %d, %v", r.C, err)
		}
		var r2 testsvc.Reply
		call := c.Go(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 2, B: 21}, &r2, make(chan *rclient.Call, 1))
		select {
		case <-call.Done:
			if call.Error != nil || r2.C != 42 {
				t.Fatalf("Go Mul: %d, %v", r2.C, call.Error)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Go did not complete in 5s")
		}
		if err := c.Call(ctxTimeout(t), "Arith", "Note", &testsvc.Args{A: 7}, nil); err != nil {
			t.Fatalf("oneway Call: %v", err)
		}
		waitNote(t, srv.svc, 7)
	})
}

// TestRpcxClientServerTimeout: rpcx clients send the ctx deadline as
// __ServerTimeout; the server bounds the handler ctx with it.
func TestRpcxClientServerTimeout(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var r testsvc.Reply
		if err := xc.Call(ctx, "Deadline", &testsvc.Args{}, &r); err != nil {
			t.Fatalf("Deadline: %v", err)
		}
		if r.C < 1 || r.C > 3000 {
			t.Fatalf("handler deadline %d ms away, want 1..3000 (from __ServerTimeout)", r.C)
		}
	})
}

// TestServerNotifications: a server's SendMessage reaches the other
// implementation's client on its server-message channel.
func TestServerNotifications(t *testing.T) {
	md := map[string]string{"topic": "news", "ü": "✓"}
	data := []byte("server says hi \x00\xff")

	t.Run("rpcx-client", func(t *testing.T) {
		forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
			ch := make(chan *rprotocol.Message, 4)
			c := newRpcxClient(t, srv.addr(), rpcxOption(stMsgPack, false), ch)
			var r testsvc.Reply
			if err := c.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 1, B: 1}, &r); err != nil {
				t.Fatalf("Mul: %v", err)
			}
			if n, err := srv.notify("Push", "Hello", md, data); err != nil || n != 1 {
				t.Fatalf("notify: %d connections, %v", n, err)
			}
			select {
			case m := <-ch:
				if m.ServicePath != "Push" || m.ServiceMethod != "Hello" || !maps.Equal(m.Metadata, md) || !bytes.Equal(m.Payload, data) {
					t.Fatalf("rpcx client got %s.%s md=%v payload=%q", m.ServicePath, m.ServiceMethod, m.Metadata, m.Payload)
				}
				if m.MessageType() != rprotocol.Request || !m.IsOneway() {
					t.Fatalf("notification type %v oneway %v, want a oneway request", m.MessageType(), m.IsOneway())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no notification in 5s")
			}
		})
	})

	t.Run("courier-client", func(t *testing.T) {
		srv := startRpcxServer(t, serverConfig{})
		ch := make(chan *cprotocol.Message, 4)
		cl := cclient.NewClient(courierOption(stMsgPack, false))
		cl.RegisterServerMessageChan(ch)
		if err := cl.Connect("tcp", srv.addr()); err != nil {
			t.Fatalf("Connect: %v", err)
		}
		t.Cleanup(func() { _ = cl.Close() })
		var r testsvc.Reply
		if err := cl.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 1, B: 1}, &r); err != nil {
			t.Fatalf("Mul: %v", err)
		}
		if n, err := srv.notify("Push", "Hello", md, data); err != nil || n != 1 {
			t.Fatalf("notify: %d connections, %v", n, err)
		}
		select {
		case m := <-ch:
			if m.ServicePath != "Push" || m.ServiceMethod != "Hello" || !maps.Equal(m.Metadata, md) || !bytes.Equal(m.Payload, data) {
				t.Fatalf("courier client got %s.%s md=%v payload=%q", m.ServicePath, m.ServiceMethod, m.Metadata, m.Payload)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no notification in 5s")
		}
	})
}

// bigPayload is 512 KiB of raw bytes: many read and write buffers full.
var bigPayload = func() []byte {
	b := make([]byte, 512<<10)
	for i := range b {
		b[i] = byte(i * 7 >> 3)
	}
	return b
}()

// TestLargePayload: a 512 KiB raw-bytes echo, plain and gzip, both directions.
func TestLargePayload(t *testing.T) {
	for _, gzip := range []bool{false, true} {
		name := "plain"
		if gzip {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			t.Run("rpcx-client", func(t *testing.T) {
				forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
					xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stNone, gzip))
					var out []byte
					if err := xc.Call(ctxTimeout(t), "Echo", &bigPayload, &out); err != nil {
						t.Fatalf("Echo: %v", err)
					}
					if !bytes.Equal(out, bigPayload) {
						t.Fatalf("Echo returned %d bytes, want %d", len(out), len(bigPayload))
					}
				})
			})
			t.Run("courier-client", func(t *testing.T) {
				srv := startRpcxServer(t, serverConfig{})
				cl := newCourierClient(t, srv.addr(), courierOption(stNone, gzip))
				var out []byte
				if err := cl.Call(ctxTimeout(t), "Arith", "Echo", &bigPayload, &out); err != nil {
					t.Fatalf("Echo: %v", err)
				}
				if !bytes.Equal(out, bigPayload) {
					t.Fatalf("Echo returned %d bytes, want %d", len(out), len(bigPayload))
				}
			})
		})
	}
}

// TestCourierClientNilReplyIsOneway: in rpcx, Client.Call and Client.Go
// with a nil reply send a oneway request (flag 0x20) and return once it is
// written. A courier Client must do the same for a program moved from rpcx
// to behave the same.
func TestCourierClientNilReplyIsOneway(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	cl := newCourierClient(t, srv.addr(), courierOption(stMsgPack, false))
	if err := cl.Call(ctxTimeout(t), "Arith", "Note", &testsvc.Args{A: 5}, nil); err != nil {
		t.Fatalf("Call with nil reply: %v", err)
	}
	waitNote(t, srv.svc, 5)
	reqs, _ := testsvc.Frames(srv.tap.ClientBytes())
	if len(reqs) != 1 || !reqs[0].IsOneway() {
		t.Fatalf("want one oneway request on the wire, got:\n%s", testsvc.FormatFrames(srv.tap.ClientBytes()))
	}
}

// badRequests are raw requests to Arith.Mul that the server must refuse,
// with the error text an rpcx server gives.
var badRequests = []struct {
	name    string
	st      byte
	payload string
	want    string
}{
	{"unknown codec", 9, "{}", "can not find codec for 9"},
	{"bad JSON", stJSON, "not json", "invalid character 'o' in literal null (expecting 'u')"},
	{"bad msgpack", stMsgPack, "\xc1", "msgpack: unexpected code=c1 decoding map length"},
}

// TestRpcxClientBadRequests: undecodable requests get rpcx's error texts,
// and a panicking handler rpcx's prefix; the connection stays usable.
func TestRpcxClientBadRequests(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stJSON, false))
		for _, c := range badRequests {
			m := rprotocol.NewMessage()
			m.SetSerializeType(rprotocol.SerializeType(c.st))
			m.ServicePath, m.ServiceMethod = "Arith", "Mul"
			m.Payload = []byte(c.payload)
			// rpcx's XClient.SendRaw reports an error response in the
			// returned metadata, not as an error.
			md, _, err := xc.SendRaw(ctxTimeout(t), m)
			if err != nil {
				t.Errorf("%s: SendRaw: %v", c.name, err)
				continue
			}
			if md[rprotocol.ServiceError] != c.want {
				t.Errorf("%s: error text %q, want %q", c.name, md[rprotocol.ServiceError], c.want)
			}
		}
		var r testsvc.Reply
		err := xc.Call(ctxTimeout(t), "Panic", &testsvc.Args{}, &r)
		const prefix = "[service internal error]: arith: panic on purpose"
		if err == nil || !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("panic: %v, want an error starting with %q", err, prefix)
		}
		if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 5, B: 5}, &r); err != nil || r.C != 25 {
			t.Errorf("Mul after bad requests: %d, %v", r.C, err)
		}
	})
}

// TestCourierClientBadRequests: rpcx's error texts for undecodable
// requests reach a courier client's SendRaw as service errors.
func TestCourierClientBadRequests(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	cl := newCourierClient(t, srv.addr(), courierOption(stJSON, false))
	for _, c := range badRequests {
		m := cprotocol.NewMessage()
		m.SetSerializeType(cprotocol.SerializeType(c.st))
		m.ServicePath, m.ServiceMethod = "Arith", "Mul"
		m.Payload = []byte(c.payload)
		_, _, err := cl.SendRaw(ctxTimeout(t), m)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	var r testsvc.Reply
	if err := cl.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 5, B: 5}, &r); err != nil || r.C != 25 {
		t.Errorf("Mul after bad requests: %d, %v", r.C, err)
	}
}
