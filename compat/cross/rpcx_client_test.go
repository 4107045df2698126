package cross

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	rclient "github.com/smallnest/rpcx/client"
	rprotocol "github.com/smallnest/rpcx/protocol"
	rshare "github.com/smallnest/rpcx/share"
)

// forEachServer runs f against every server kind as a subtest.
func forEachServer(t *testing.T, cfg serverConfig, f func(t *testing.T, srv *testServer)) {
	t.Helper()
	for _, k := range serverKinds {
		t.Run(k.name, func(t *testing.T) {
			f(t, k.start(t, cfg))
		})
	}
}

// rpcxCall adapts an XClient to callFn.
func rpcxCall(xc rclient.XClient) callFn {
	return func(ctx context.Context, method string, args, reply any) error {
		return xc.Call(ctx, method, args, reply)
	}
}

func ctxTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRpcxClientSerializeTypes: every serialize type, with and without
// gzip, rpcx client to server.
func TestRpcxClientSerializeTypes(t *testing.T) {
	for _, c := range serCases() {
		for _, gzip := range []bool{false, true} {
			name := c.name
			if gzip {
				name += "+gzip"
			}
			t.Run(name, func(t *testing.T) {
				forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
					xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(c.st, gzip))
					runSerCase(t, c, gzip, rpcxCall(xc), srv.tap)
				})
			})
		}
	}
}

// TestRpcxClientConcurrentCalls: many calls in flight on one connection are
// matched to their replies.
func TestRpcxClientConcurrentCalls(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		ctx := ctxTimeout(t)
		const n = 64
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r testsvc.Reply
				if err := xc.Call(ctx, "Mul", &testsvc.Args{A: i, B: 3}, &r); err != nil {
					errs <- err
					return
				}
				if r.C != 3*i {
					errs <- fmt.Errorf("Mul(%d, 3) = %d", i, r.C)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestRpcxClientMetadata: request metadata reaches the handler, response
// metadata set by the handler reaches the caller.
func TestRpcxClientMetadata(t *testing.T) {
	for _, c := range []struct {
		name string
		st   byte
	}{{"JSON", stJSON}, {"MsgPack", stMsgPack}} {
		t.Run(c.name, func(t *testing.T) {
			forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
				xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(c.st, false))
				want := map[string]string{"k1": "v1", "k2": "ünï", "empty": ""}
				// The XClient adds keys (__ServerTimeout) to the map it is
				// given, so it gets a copy.
				req := maps.Clone(want)
				res := map[string]string{}
				ctx := context.WithValue(ctxTimeout(t), rshare.ReqMetaDataKey, req)
				ctx = context.WithValue(ctx, rshare.ResMetaDataKey, res)
				var r testsvc.Reply
				if err := xc.Call(ctx, "Meta", &testsvc.Args{}, &r); err != nil {
					t.Fatalf("Meta: %v", err)
				}
				if r.C != len(want) {
					t.Errorf("handler counted %d metadata entries, want %d (saw %v)", r.C, len(want), srv.svc.LastMeta())
				}
				seen := srv.svc.LastMeta()
				for k, v := range want {
					if seen[k] != v {
						t.Errorf("handler saw %q=%q, want %q", k, seen[k], v)
					}
					if res["re-"+k] != v {
						t.Errorf("response metadata re-%s=%q, want %q (got %v)", k, res["re-"+k], v, res)
					}
				}
			})
		})
	}
}

// TestRpcxClientServiceErrors: the error text arrives intact; a courier
// error code travels in metadata the rpcx client ignores.
func TestRpcxClientServiceErrors(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		for _, c := range []struct{ method, text string }{
			{"Fail", testsvc.FailText},
			{"FailCoded", testsvc.CodedText},
		} {
			res := map[string]string{}
			ctx := context.WithValue(ctxTimeout(t), rshare.ResMetaDataKey, res)
			var r testsvc.Reply
			err := xc.Call(ctx, c.method, &testsvc.Args{}, &r)
			if err == nil {
				t.Fatalf("%s: no error", c.method)
			}
			if err.Error() != c.text {
				t.Errorf("%s: error %q, want %q", c.method, err.Error(), c.text)
			}
			var se rclient.ServiceError
			if !errors.As(err, &se) || !se.IsServiceError() {
				t.Errorf("%s: error %T is not an rpcx ServiceError", c.method, err)
			}
			// The client keeps working after an error response.
			if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 2, B: 3}, &r); err != nil || r.C != 6 {
				t.Errorf("Mul after %s: %d, %v", c.method, r.C, err)
			}
		}
		_, res := lastExchange(t, srv.tap, "FailCoded")
		if res.Status() != 1 {
			t.Errorf("error response status %d, want 1", res.Status())
		}
		md := res.Metadata()
		if md["__rpcx_error__"] != testsvc.CodedText {
			t.Errorf("error response metadata %v", md)
		}
		// courier adds the code beside the text; the rpcx client above
		// ignored it.
		if srv.kind == "courier" && md["__courier_code"] != "5" {
			t.Errorf("courier error response has __courier_code=%q, want \"5\" (CodeNotFound)", md["__courier_code"])
		}
	})
}

// TestRpcxClientUnknownServiceAndMethod: the error texts are rpcx's.
func TestRpcxClientUnknownServiceAndMethod(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		var r testsvc.Reply
		nope := newRpcxXClient(t, "Nope", srv.addr(), rpcxOption(stMsgPack, false))
		err := nope.Call(ctxTimeout(t), "Mul", &testsvc.Args{}, &r)
		if err == nil || err.Error() != "rpcx: can't find service Nope" {
			t.Errorf("unknown service: %v, want %q", err, "rpcx: can't find service Nope")
		}
		xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		err = xc.Call(ctxTimeout(t), "Nope", &testsvc.Args{}, &r)
		if err == nil || err.Error() != "rpcx: can't find method Nope" {
			t.Errorf("unknown method: %v, want %q", err, "rpcx: can't find method Nope")
		}
	})
}

// TestRpcxClientHeartbeat: an rpcx client with Heartbeat on gets its
// heartbeats answered and the connection stays usable.
func TestRpcxClientHeartbeat(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		opt := rpcxOption(stMsgPack, false)
		opt.Heartbeat = true
		opt.HeartbeatInterval = 30 * time.Millisecond
		opt.MaxWaitForHeartbeat = 2 * time.Second
		xc := newRpcxXClient(t, "Arith", srv.addr(), opt)
		rec := &decodeRecorder{}
		pc := rclient.NewPluginContainer()
		pc.Add(rec)
		xc.SetPlugins(pc)
		var r testsvc.Reply
		if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 4, B: 5}, &r); err != nil || r.C != 20 {
			t.Fatalf("Mul: %d, %v", r.C, err)
		}
		isHB := func(m *rprotocol.Message) bool {
			return m.IsHeartbeat() && m.MessageType() == rprotocol.Response && m.MessageStatusType() == rprotocol.Normal
		}
		if !waitUntil(5*time.Second, func() bool { return rec.count(isHB) >= 3 }) {
			t.Fatalf("rpcx client decoded %d heartbeat replies in 5s, want 3", rec.count(isHB))
		}
		// Every heartbeat reply echoes its request's payload and ID.
		reqs, _ := testsvc.Frames(srv.tap.ClientBytes())
		ress, _ := testsvc.Frames(srv.tap.ServerBytes())
		bySeq := map[uint64][]byte{}
		for _, f := range reqs {
			if f.IsHeartbeat() {
				bySeq[f.Seq()] = f.Bytes
			}
		}
		for _, f := range ress {
			if !f.IsHeartbeat() {
				continue
			}
			q, ok := bySeq[f.Seq()]
			if !ok {
				t.Errorf("heartbeat reply seq %d answers no heartbeat request", f.Seq())
				continue
			}
			if string(q[16:]) != string(f.Bytes[16:]) {
				t.Errorf("heartbeat reply body differs from request\nreq: %x\nres: %x", q[16:], f.Bytes[16:])
			}
		}
		if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 6, B: 5}, &r); err != nil || r.C != 30 {
			t.Fatalf("Mul after heartbeats: %d, %v", r.C, err)
		}
	})
}

// TestRpcxClientOneway: XClient.Oneshot runs the handler and gets no
// response frame.
func TestRpcxClientOneway(t *testing.T) {
	forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
		xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		if err := xc.Oneshot(ctxTimeout(t), "Note", &testsvc.Args{A: 42}); err != nil {
			t.Fatalf("Oneshot: %v", err)
		}
		select {
		case got := <-srv.svc.Notes:
			if got != 42 {
				t.Fatalf("Note got %d, want 42", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the oneway handler did not run in 5s")
		}
		// A later call's response arrives; no response for the oneway one.
		var r testsvc.Reply
		if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 2, B: 2}, &r); err != nil || r.C != 4 {
			t.Fatalf("Mul after Oneshot: %d, %v", r.C, err)
		}
		reqs, _ := testsvc.Frames(srv.tap.ClientBytes())
		var onewaySeq uint64
		found := false
		for _, f := range reqs {
			if f.IsOneway() {
				onewaySeq, found = f.Seq(), true
			}
		}
		if !found {
			t.Fatal("no request with the oneway bit on the wire")
		}
		ress, _ := testsvc.Frames(srv.tap.ServerBytes())
		for _, f := range ress {
			if f.Seq() == onewaySeq {
				t.Errorf("server answered the oneway request seq %d", onewaySeq)
			}
		}
	})
}

// TestRpcxClientAuth: XClient.Auth's token reaches the server's AuthFunc;
// a wrong token gets the AuthFunc's error text.
func TestRpcxClientAuth(t *testing.T) {
	forEachServer(t, serverConfig{auth: true}, func(t *testing.T, srv *testServer) {
		good := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		good.Auth(goodToken)
		var r testsvc.Reply
		if err := good.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 3, B: 3}, &r); err != nil || r.C != 9 {
			t.Fatalf("Mul with a good token: %d, %v", r.C, err)
		}
		bad := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		bad.Auth("bearer wrong")
		err := bad.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 3, B: 3}, &r)
		if err == nil || err.Error() != errBadToken.Error() {
			t.Fatalf("Mul with a bad token: %v, want %q", err, errBadToken)
		}
		none := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		err = none.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 3, B: 3}, &r)
		if err == nil || err.Error() != errBadToken.Error() {
			t.Fatalf("Mul without a token: %v, want %q", err, errBadToken)
		}
	})
}

// TestRpcxClientHeartbeatKeepsConnection: a server with a read timeout
// closes an idle rpcx connection, and keeps one whose rpcx client sends
// heartbeats.
func TestRpcxClientHeartbeatKeepsConnection(t *testing.T) {
	const readTimeout = 150 * time.Millisecond
	forEachServer(t, serverConfig{readTimeout: readTimeout}, func(t *testing.T, srv *testServer) {
		// Premise: without heartbeats the idle connection is closed.
		idle := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
		var r testsvc.Reply
		if err := idle.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 1, B: 2}, &r); err != nil {
			t.Fatalf("Mul: %v", err)
		}
		if !waitUntil(5*time.Second, func() bool { _, ended := srv.tap.Conns(); return ended == 1 }) {
			t.Fatalf("the server kept an idle connection open for 5s with a %v read timeout", readTimeout)
		}

		opt := rpcxOption(stMsgPack, false)
		opt.Heartbeat = true
		opt.HeartbeatInterval = 30 * time.Millisecond
		opt.MaxWaitForHeartbeat = 2 * time.Second
		xc := newRpcxXClient(t, "Arith", srv.addr(), opt)
		rec := &decodeRecorder{}
		pc := rclient.NewPluginContainer()
		pc.Add(rec)
		xc.SetPlugins(pc)
		if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 2, B: 2}, &r); err != nil || r.C != 4 {
			t.Fatalf("Mul: %d, %v", r.C, err)
		}
		// 15 heartbeat replies span well over three read timeouts.
		isHB := func(m *rprotocol.Message) bool { return m.IsHeartbeat() }
		if !waitUntil(10*time.Second, func() bool { return rec.count(isHB) >= 15 }) {
			t.Fatalf("%d heartbeat replies in 10s, want 15", rec.count(isHB))
		}
		if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 3, B: 2}, &r); err != nil || r.C != 6 {
			t.Fatalf("Mul after heartbeats: %d, %v", r.C, err)
		}
		if accepted, ended := srv.tap.Conns(); accepted != 2 || ended != 1 {
			t.Fatalf("connections accepted %d, ended %d; want 2 and 1 (the heartbeating one kept)", accepted, ended)
		}
	})
}
