package cross

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	cclient "github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/compat/internal/testsvc"
	cprotocol "github.com/courier-rpc/courier/protocol"
	cshare "github.com/courier-rpc/courier/share"
)

// courierOption returns courier's DefaultOption with serialize type st.
func courierOption(st byte, gzip bool) cclient.Option {
	opt := cclient.DefaultOption
	opt.SerializeType = cprotocol.SerializeType(st)
	if gzip {
		opt.CompressType = cprotocol.Gzip
	}
	opt.Retries = 0
	return opt
}

// newCourierClient connects a courier Client to addr; t.Cleanup closes it.
func newCourierClient(t *testing.T, addr string, opt cclient.Option) *cclient.Client {
	t.Helper()
	c := cclient.NewClient(opt)
	if err := c.Connect("tcp", addr); err != nil {
		t.Fatalf("courier Connect %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newCourierXClient returns a courier XClient for servicePath on addr
// (Peer2Peer, Failfast); t.Cleanup closes it.
func newCourierXClient(t *testing.T, servicePath, addr string, opt cclient.Option) cclient.XClient {
	t.Helper()
	d, err := cclient.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatalf("courier discovery: %v", err)
	}
	xc := cclient.NewXClient(servicePath, cclient.Failfast, cclient.RandomSelect, d, opt)
	t.Cleanup(func() { _ = xc.Close() })
	return xc
}

func courierCall(c *cclient.Client) callFn {
	return func(ctx context.Context, method string, args, reply any) error {
		return c.Call(ctx, "Arith", method, args, reply)
	}
}

// TestCourierClientSerializeTypes: every serialize type, with and without
// gzip, courier client to rpcx server.
func TestCourierClientSerializeTypes(t *testing.T) {
	for _, c := range serCases() {
		for _, gzip := range []bool{false, true} {
			name := c.name
			if gzip {
				name += "+gzip"
			}
			t.Run(name, func(t *testing.T) {
				srv := startRpcxServer(t, serverConfig{})
				cl := newCourierClient(t, srv.addr(), courierOption(c.st, gzip))
				runSerCase(t, c, gzip, courierCall(cl), srv.tap)
			})
		}
	}
}

// TestCourierClientConcurrentCalls: Call and Go from many goroutines on
// one connection to an rpcx server.
func TestCourierClientConcurrentCalls(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	cl := newCourierClient(t, srv.addr(), courierOption(stMsgPack, false))
	ctx := ctxTimeout(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r testsvc.Reply
			if err := cl.Call(ctx, "Arith", "Mul", &testsvc.Args{A: i, B: 3}, &r); err != nil {
				errs <- err
			} else if r.C != 3*i {
				errs <- fmt.Errorf("Mul(%d, 3) = %d", i, r.C)
			}
		}()
	}
	done := make(chan *cclient.Call, n)
	replies := make([]testsvc.Reply, n)
	for i := range n {
		cl.Go(ctx, "Arith", "Mul", &testsvc.Args{A: i, B: 5}, &replies[i], done)
	}
	for range n {
		select {
		case call := <-done:
			if call.Error != nil {
				errs <- call.Error
			}
		case <-ctx.Done():
			t.Fatal("Go calls did not complete")
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, r := range replies {
		if r.C != 5*i {
			t.Errorf("Go Mul(%d, 5) = %d", i, r.C)
		}
	}
}

// TestCourierClientMetadata: request metadata reaches the rpcx handler,
// response metadata comes back, and the caller's map is not modified.
func TestCourierClientMetadata(t *testing.T) {
	for _, c := range []struct {
		name string
		st   byte
	}{{"JSON", stJSON}, {"MsgPack", stMsgPack}} {
		t.Run(c.name, func(t *testing.T) {
			srv := startRpcxServer(t, serverConfig{})
			cl := newCourierClient(t, srv.addr(), courierOption(c.st, false))
			want := map[string]string{"k1": "v1", "k2": "ünï", "empty": ""}
			req := maps.Clone(want)
			res := map[string]string{}
			ctx := context.WithValue(context.Background(), cshare.ReqMetaDataKey, req)
			ctx = context.WithValue(ctx, cshare.ResMetaDataKey, res)
			var r testsvc.Reply
			if err := cl.Call(ctx, "Arith", "Meta", &testsvc.Args{}, &r); err != nil {
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
			if !maps.Equal(req, want) {
				t.Errorf("the caller's metadata map was modified: %v", req)
			}
		})
	}
}

// TestCourierClientDeadlineIgnoredByRpcx: a ctx deadline travels as
// __courier_deadline, which an rpcx server passes to the handler as plain
// metadata and otherwise ignores.
func TestCourierClientDeadlineIgnoredByRpcx(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	cl := newCourierClient(t, srv.addr(), courierOption(stMsgPack, false))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var r testsvc.Reply
	if err := cl.Call(ctx, "Arith", "Meta", &testsvc.Args{}, &r); err != nil {
		t.Fatalf("Meta with a deadline: %v", err)
	}
	if r.C != 0 {
		t.Errorf("handler counted %d non-reserved metadata entries, want 0 (saw %v)", r.C, srv.svc.LastMeta())
	}
	v, ok := srv.svc.LastMeta()[cshare.DeadlineKey]
	ms, err := strconv.Atoi(v)
	if !ok || err != nil || ms < 1 || ms > 5000 {
		t.Errorf("metadata %s=%q (present %v), want 1..5000 ms", cshare.DeadlineKey, v, ok)
	}
	if err := cl.Call(ctx, "Arith", "Deadline", &testsvc.Args{}, &r); err != nil {
		t.Fatalf("Deadline: %v", err)
	}
	if r.C != -1 {
		t.Errorf("rpcx handler ctx has a deadline %d ms away; rpcx should ignore %s", r.C, cshare.DeadlineKey)
	}
}

// TestCourierClientServiceErrors: rpcx error texts arrive intact as
// ServiceErrors; rpcx sends no code.
func TestCourierClientServiceErrors(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	cl := newCourierClient(t, srv.addr(), courierOption(stMsgPack, false))
	for _, c := range []struct{ method, text string }{
		{"Fail", testsvc.FailText},
		{"FailCoded", testsvc.CodedText},
	} {
		var r testsvc.Reply
		err := cl.Call(ctxTimeout(t), "Arith", c.method, &testsvc.Args{}, &r)
		if err == nil {
			t.Fatalf("%s: no error", c.method)
		}
		if err.Error() != c.text {
			t.Errorf("%s: error %q, want %q", c.method, err.Error(), c.text)
		}
		var se cclient.ServiceError
		if !errors.As(err, &se) || !se.IsServiceError() {
			t.Errorf("%s: error %T is not a courier ServiceError", c.method, err)
		}
		if code := cshare.CodeOf(err); code != cshare.CodeUnknown {
			t.Errorf("%s: code %v from an rpcx server, want CodeUnknown", c.method, code)
		}
		if errors.Is(err, cclient.ErrDraining) || errors.Is(err, cclient.ErrShutdown) {
			t.Errorf("%s: service error looks like a connection error: %v", c.method, err)
		}
		if err := cl.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 2, B: 3}, &r); err != nil || r.C != 6 {
			t.Errorf("Mul after %s: %d, %v", c.method, r.C, err)
		}
	}
}

// TestCourierClientUnknownServiceAndMethod: rpcx's texts reach the caller.
func TestCourierClientUnknownServiceAndMethod(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	cl := newCourierClient(t, srv.addr(), courierOption(stMsgPack, false))
	var r testsvc.Reply
	for _, c := range []struct{ path, method, want string }{
		{"Nope", "Mul", "rpcx: can't find service Nope"},
		{"Arith", "Nope", "rpcx: can't find method Nope"},
	} {
		err := cl.Call(ctxTimeout(t), c.path, c.method, &testsvc.Args{}, &r)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s.%s: %v, want %q", c.path, c.method, err, c.want)
		}
	}
}

// TestCourierClientHeartbeat: an rpcx server answers a courier client's
// heartbeats and the connection stays usable.
func TestCourierClientHeartbeat(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	opt := courierOption(stMsgPack, false)
	opt.Heartbeat = true
	opt.HeartbeatInterval = 30 * time.Millisecond
	opt.MaxWaitForHeartbeat = 2 * time.Second
	cl := newCourierClient(t, srv.addr(), opt)
	if !waitUntil(5*time.Second, func() bool { return srv.heartbeats() >= 3 }) {
		t.Fatalf("rpcx server saw %d heartbeats in 5s, want 3", srv.heartbeats())
	}
	var r testsvc.Reply
	if err := cl.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 6, B: 5}, &r); err != nil || r.C != 30 {
		t.Fatalf("Mul after heartbeats: %d, %v", r.C, err)
	}
	if cl.IsShutdown() || cl.IsClosing() {
		t.Fatalf("client closed after heartbeats (shutdown %v, closing %v)", cl.IsShutdown(), cl.IsClosing())
	}
	reqs, _ := testsvc.Frames(srv.tap.ClientBytes())
	answered := map[uint64]bool{}
	ress, _ := testsvc.Frames(srv.tap.ServerBytes())
	for _, f := range ress {
		if f.IsHeartbeat() && f.IsResponse() {
			answered[f.Seq()] = true
		}
	}
	n := 0
	for _, f := range reqs {
		if f.IsHeartbeat() && answered[f.Seq()] {
			n++
		}
	}
	if n < 3 {
		t.Fatalf("%d heartbeat requests answered on the wire, want 3", n)
	}
}

// TestCourierClientOneway: XClient.Oneshot and a oneway SendRaw run the
// rpcx handler, which sends no response.
func TestCourierClientOneway(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{})
	xc := newCourierXClient(t, "Arith", srv.addr(), courierOption(stMsgPack, false))
	if err := xc.Oneshot(ctxTimeout(t), "Note", &testsvc.Args{A: 42}); err != nil {
		t.Fatalf("Oneshot: %v", err)
	}
	waitNote(t, srv.svc, 42)

	cl := newCourierClient(t, srv.addr(), courierOption(stMsgPack, false))
	raw := cprotocol.NewMessage()
	raw.SetOneway(true)
	raw.SetSerializeType(cprotocol.MsgPack)
	raw.ServicePath, raw.ServiceMethod = "Arith", "Note"
	raw.Payload = []byte{0x82, 0xa1, 'A', 43, 0xa1, 'B', 0} // {"A":43,"B":0}
	if _, _, err := cl.SendRaw(ctxTimeout(t), raw); err != nil {
		t.Fatalf("oneway SendRaw: %v", err)
	}
	waitNote(t, srv.svc, 43)

	var r testsvc.Reply
	if err := cl.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 2, B: 2}, &r); err != nil || r.C != 4 {
		t.Fatalf("Mul after oneway: %d, %v", r.C, err)
	}
	// The tap carries both connections; seqs may repeat across them, so
	// count: two oneway requests, and responses only for non-oneway ones.
	reqs, _ := testsvc.Frames(srv.tap.ClientBytes())
	ress, _ := testsvc.Frames(srv.tap.ServerBytes())
	oneway, calls := 0, 0
	for _, f := range reqs {
		switch {
		case f.IsOneway():
			oneway++
		case !f.IsHeartbeat():
			calls++
		}
	}
	if oneway != 2 {
		t.Errorf("%d oneway requests on the wire, want 2", oneway)
	}
	if len(ress) != calls {
		t.Errorf("%d responses for %d two-way requests: the server answered a oneway request", len(ress), calls)
	}
}

func waitNote(t *testing.T, svc *testsvc.Arith, want int) {
	t.Helper()
	select {
	case got := <-svc.Notes:
		if got != want {
			t.Fatalf("Note got %d, want %d", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the oneway handler did not run in 5s (want note %d)", want)
	}
}

// TestCourierClientAuth: the token reaches rpcx's AuthFunc, through
// XClient.Auth and through request metadata share.AuthKey.
func TestCourierClientAuth(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{auth: true})
	var r testsvc.Reply

	xc := newCourierXClient(t, "Arith", srv.addr(), courierOption(stMsgPack, false))
	xc.Auth(goodToken)
	if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 3, B: 3}, &r); err != nil || r.C != 9 {
		t.Fatalf("XClient with a good token: %d, %v", r.C, err)
	}

	cl := newCourierClient(t, srv.addr(), courierOption(stMsgPack, false))
	ctx := context.WithValue(ctxTimeout(t), cshare.ReqMetaDataKey, map[string]string{cshare.AuthKey: goodToken})
	if err := cl.Call(ctx, "Arith", "Mul", &testsvc.Args{A: 4, B: 4}, &r); err != nil || r.C != 16 {
		t.Fatalf("Client with a good token in metadata: %d, %v", r.C, err)
	}

	bad := newCourierXClient(t, "Arith", srv.addr(), courierOption(stMsgPack, false))
	bad.Auth("bearer wrong")
	err := bad.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 3, B: 3}, &r)
	if err == nil || err.Error() != errBadToken.Error() {
		t.Fatalf("XClient with a bad token: %v, want %q", err, errBadToken)
	}
	var se cclient.ServiceError
	if !errors.As(err, &se) {
		t.Errorf("auth failure %T is not a ServiceError", err)
	}
}

// TestCourierClientHeartbeatKeepsConnection: an rpcx server with a read
// timeout keeps the connection of a courier client that sends heartbeats.
func TestCourierClientHeartbeatKeepsConnection(t *testing.T) {
	srv := startRpcxServer(t, serverConfig{readTimeout: 150 * time.Millisecond})
	opt := courierOption(stMsgPack, false)
	opt.Heartbeat = true
	opt.HeartbeatInterval = 30 * time.Millisecond
	opt.MaxWaitForHeartbeat = 2 * time.Second
	cl := newCourierClient(t, srv.addr(), opt)
	// 15 heartbeats span well over three read timeouts.
	if !waitUntil(10*time.Second, func() bool { return srv.heartbeats() >= 15 }) {
		t.Fatalf("rpcx server saw %d heartbeats in 10s, want 15", srv.heartbeats())
	}
	var r testsvc.Reply
	if err := cl.Call(ctxTimeout(t), "Arith", "Mul", &testsvc.Args{A: 3, B: 2}, &r); err != nil || r.C != 6 {
		t.Fatalf("Mul after heartbeats: %d, %v", r.C, err)
	}
	if accepted, ended := srv.tap.Conns(); accepted != 1 || ended != 0 || cl.IsShutdown() {
		t.Fatalf("connections accepted %d, ended %d, client shut down %v; want 1, 0, false", accepted, ended, cl.IsShutdown())
	}
}
