package cross

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	cclient "github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/compat/internal/testsvc"
)

// heartbeatCaller is Client.Call of either kind.
type heartbeatCaller func(ctx context.Context, path, method string, args, reply any) error

// checkHeartbeatCall calls with an empty service path and method and
// checks that a heartbeat frame (MessagePack payload) went out and the
// reply is the echoed argument.
func checkHeartbeatCall(t *testing.T, srv *testServer, call heartbeatCaller) {
	t.Helper()
	before := 0
	if srv.heartbeats != nil {
		before = srv.heartbeats()
	}
	req, reply := int64(1764633600123456789), int64(0)
	if err := call(ctxTimeout(t), "", "", &req, &reply); err != nil {
		t.Fatalf("Call(\"\", \"\"): %v", err)
	}
	if reply != req {
		t.Fatalf("reply %d, want the echoed %d", reply, req)
	}
	if srv.heartbeats != nil && srv.heartbeats() != before+1 {
		t.Fatalf("server counted %d heartbeats, want %d", srv.heartbeats(), before+1)
	}
	frames, err := testsvc.Frames(srv.tap.ClientBytes())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range frames {
		if f.IsHeartbeat() && !f.IsResponse() {
			n++
			if f.SerializeType() != stMsgPack {
				t.Errorf("heartbeat frame has serialize type %d, want MessagePack", f.SerializeType())
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d heartbeat frames on the wire, want 1", n)
	}
}

// TestCallWithEmptyPathIsHeartbeat (issue 17, behaviour 1): Call with an
// empty service path and method sends a heartbeat and returns the echoed
// payload, from either client to either server.
func TestCallWithEmptyPathIsHeartbeat(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		t.Run("rpcx-client", func(t *testing.T) {
			c := newRpcxClient(t, srv.addr(), rpcxOption(stJSON, false), nil)
			checkHeartbeatCall(t, srv, c.Call)
		})
		t.Run("courier-client", func(t *testing.T) {
			srv := srv
			if srv.kind == "rpcx" {
				srv = startRpcxServer(t, serverConfig{}) // a fresh tap
			} else {
				srv = startCourierServer(t, serverConfig{})
			}
			c := newCourierClient(t, srv.addr(), courierOption(stJSON, false))
			checkHeartbeatCall(t, srv, c.Call)
		})
	})
}

// TestReplyCompressedOnlyWhenLarge (behaviour 2): a compressed request gets
// a compressed reply only when the reply payload is over 1,024 bytes.
func TestReplyCompressedOnlyWhenLarge(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		// rpcx's client compresses only requests over 1 KiB; courier's
		// client marks every request, so a small compressed request comes
		// from it.
		c := newCourierClient(t, srv.addr(), courierOption(stJSON, true))
		var r testsvc.Reply
		if err := c.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 3, B: 4}, &r); err != nil || r.C != 12 {
			t.Fatalf("Mul: %d, %v", r.C, err)
		}
		req, res := lastExchange(t, srv.tap, "Mul")
		if req.CompressType() != 1 || res.CompressType() != 0 {
			t.Fatalf("small reply: request compress %d, response compress %d; want 1, 0", req.CompressType(), res.CompressType())
		}
		big := []byte(largeText)
		var echo []byte
		if err := c.Call(ctxTimeout(t), "Arith", "Echo", &big, &echo); err != nil || !bytes.Equal(echo, big) {
			t.Fatalf("Echo: %d bytes, %v", len(echo), err)
		}
		if _, res := lastExchange(t, srv.tap, "Echo"); res.CompressType() != 1 {
			t.Fatalf("large reply compress %d, want 1", res.CompressType())
		}
	})
}

// invoke sends one HTTP invoke request to addr.
func invoke(t *testing.T, addr, urlPath string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxTimeout(t), http.MethodPost, "http://"+addr+urlPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("HTTP invoke: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestHTTPInvokeAnswers (behaviour 3): the HTTP invoke answer echoes the
// service path (also one from the URL) and method, and a failed call is
// 500 with the error headers, a failed authentication 401.
func TestHTTPInvokeAnswers(t *testing.T) {
	hdr := func(kv ...string) map[string]string {
		m := map[string]string{"X-RPCX-MessageID": "7", "X-RPCX-SerializeType": "1", "X-RPCX-ServicePath": "Arith"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	cases := []struct {
		name, path string
		hdr        map[string]string
		auth       bool
		status     int
		want       map[string]string
	}{
		{"ok", "/", hdr("X-RPCX-ServiceMethod", "Mul"), false, 200,
			map[string]string{"X-RPCX-ServicePath": "Arith", "X-RPCX-ServiceMethod": "Mul", "X-RPCX-MessageID": "7"}},
		{"path from url", "/Arith", hdr("X-RPCX-ServicePath", "", "X-RPCX-ServiceMethod", "Mul"), false, 200,
			map[string]string{"X-RPCX-ServicePath": "Arith", "X-RPCX-ServiceMethod": "Mul"}},
		{"service error", "/", hdr("X-RPCX-ServiceMethod", "Fail"), false, 500,
			map[string]string{"X-RPCX-ServicePath": "Arith", "X-RPCX-ServiceMethod": "Fail", "X-RPCX-MessageStatusType": "Error", "X-RPCX-ErrorMessage": testsvc.FailText}},
		{"unknown method", "/", hdr("X-RPCX-ServiceMethod", "Nope"), false, 500,
			map[string]string{"X-RPCX-MessageStatusType": "Error"}},
		{"auth refused", "/", hdr("X-RPCX-ServiceMethod", "Mul", "Authorization", "bad"), true, 401,
			map[string]string{"X-RPCX-MessageStatusType": "Error", "X-RPCX-ErrorMessage": errBadToken.Error()}},
		{"auth ok", "/", hdr("X-RPCX-ServiceMethod", "Mul", "Authorization", goodToken), true, 200, nil},
	}
	for _, k := range serverKinds {
		t.Run(k.name, func(t *testing.T) {
			plain, auth := k.start(t, serverConfig{}), k.start(t, serverConfig{auth: true})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					srv := plain
					if tc.auth {
						srv = auth
					}
					res, body := invoke(t, srv.addr(), tc.path, tc.hdr, `{"A":6,"B":7}`)
					if res.StatusCode != tc.status {
						t.Fatalf("status %d, want %d (%s %q)", res.StatusCode, tc.status, res.Header.Get("X-RPCX-ErrorMessage"), body)
					}
					for h, v := range tc.want {
						if got := res.Header.Get(h); got != v {
							t.Errorf("%s = %q, want %q", h, got, v)
						}
					}
					if tc.status == 200 && body != `{"C":42}` {
						t.Errorf("body %q", body)
					}
				})
			}
		})
	}
}

// TestNonProtocolBytesClosed (behaviour 4): a connection whose first bytes
// are neither the rpcx magic nor an HTTP method token is closed without an
// answer; HTTP and rpcx keep working on the port.
func TestNonProtocolBytesClosed(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		// Each ends with an empty line: rpcx's listener (cmux) waits for
		// the end of a header block before it gives up on a connection.
		for _, garbage := range []string{"\x00\x01\x02 garbage\r\n\r\n", "\x16\x03\x01\x00\x05hello\r\n\r\n", "{\"jsonrpc\":\"2.0\"}\r\n\r\n"} {
			conn, err := net.Dial("tcp", srv.addr())
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, garbage); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(bufio.NewReader(conn))
			_ = conn.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%q: connection still open after 5s", garbage)
			}
			if len(got) != 0 {
				t.Fatalf("%q: answered %q, want the connection closed without an answer", garbage, got)
			}
		}
		res, _ := invoke(t, srv.addr(), "/", map[string]string{"X-RPCX-SerializeType": "1", "X-RPCX-ServicePath": "Arith", "X-RPCX-ServiceMethod": "Mul"}, `{"A":2,"B":3}`)
		if res.StatusCode != 200 {
			t.Fatalf("HTTP invoke after garbage: %s", res.Status)
		}
		xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stJSON, false))
		var r testsvc.Reply
		if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 2, B: 3}, &r); err != nil || r.C != 6 {
			t.Fatalf("rpcx call after garbage: %d, %v", r.C, err)
		}
	})
}

// TestOnewaySkipsUndialableServer (behaviour 6): a courier XClient's
// oneway message whose chosen server cannot be dialled reaches the rpcx
// server instead, even with Failfast.
func TestOnewaySkipsUndialableServer(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	d, err := cclient.NewMultipleServersDiscovery([]*cclient.KVPair{{Key: "tcp@" + dead}, {Key: "tcp@" + srv.addr()}})
	if err != nil {
		t.Fatal(err)
	}
	xc := cclient.NewXClient("Arith", cclient.Failfast, cclient.RoundRobin, d, courierOption(stMsgPack, false))
	t.Cleanup(func() { _ = xc.Close() })
	for i := 1; i <= 6; i++ {
		if i%2 == 0 {
			err = xc.Oneshot(ctxTimeout(t), "Note", &testsvc.Args{A: i})
		} else {
			err = xc.Call(ctxTimeout(t), "Note", &testsvc.Args{A: i}, nil)
		}
		if err != nil {
			t.Fatalf("oneway %d: %v", i, err)
		}
		waitNote(t, srv.svc, i)
	}
}
