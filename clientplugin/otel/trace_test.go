package otel_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func attrStr(s sdktrace.ReadOnlySpan, key string) string {
	v, _ := attr(s, key)
	return v.Emit()
}

// byKind returns the ended spans of kind, in end order.
func byKind(spans []sdktrace.ReadOnlySpan, kind trace.SpanKind) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanKind() == kind {
			out = append(out, s)
		}
	}
	return out
}

// client → A → B: one trace, parent links call → attempt → server span at
// each hop, names and attributes per the conventions.
func TestTraceChain(t *testing.T) {
	e := newEnv(t)
	sb := server.NewServer()
	sb.Plugins.Add(e.serverPlugin())
	addrB := serve(t, sb, map[string]any{"Arith": new(testutils.Arith)})
	toB := xclient(t, "Arith", client.Failtry, client.DefaultOption, e.clientPlugin(), addrB)
	sa := server.NewServer()
	sa.Plugins.Add(e.serverPlugin())
	addrA := serve(t, sa, map[string]any{"Front": &Front{next: toB}})
	toA := xclient(t, "Front", client.Failtry, client.DefaultOption, e.clientPlugin(), addrA)

	var r testutils.Reply
	if err := toA.Call(t.Context(), "Mul", &testutils.Args{A: 6, B: 7}, &r); err != nil || r.C != 42 {
		t.Fatalf("call: %v, %d", err, r.C)
	}
	spans := e.sr.Ended()
	if len(spans) != 6 {
		t.Fatalf("%d spans, want 6 (2 calls, 2 attempts, 2 server spans)", len(spans))
	}
	byName := map[string][]sdktrace.ReadOnlySpan{}
	tid := spans[0].SpanContext().TraceID()
	for _, s := range spans {
		if s.SpanContext().TraceID() != tid {
			t.Fatalf("span %s in another trace", s.Name())
		}
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	// Front/Mul: call (root), attempt, server. Arith/Mul: same, under Front's server span.
	chain := func(name string) (call, attempt, srv sdktrace.ReadOnlySpan) {
		for _, s := range byName[name] {
			switch {
			case s.SpanKind() == trace.SpanKindServer:
				srv = s
			case attrStr(s, "courier.attempt") != "":
				attempt = s
			default:
				call = s
			}
		}
		if call == nil || attempt == nil || srv == nil {
			t.Fatalf("%s: missing call/attempt/server span among %d", name, len(byName[name]))
		}
		if attempt.Parent().SpanID() != call.SpanContext().SpanID() || srv.Parent().SpanID() != attempt.SpanContext().SpanID() {
			t.Fatalf("%s: parent links wrong", name)
		}
		if !srv.Parent().IsRemote() {
			t.Fatalf("%s: the server span's parent is not remote", name)
		}
		return call, attempt, srv
	}
	frontCall, _, frontSrv := chain("Front/Mul")
	arithCall, arithAttempt, arithSrv := chain("Arith/Mul")
	if frontCall.Parent().IsValid() {
		t.Fatal("the first call span has a parent")
	}
	if arithCall.Parent().SpanID() != frontSrv.SpanContext().SpanID() {
		t.Fatal("B's call span is not a child of A's server span")
	}
	for key, want := range map[string]string{
		"rpc.system.name": "rpcx", "rpc.method": "Arith/Mul", "rpc.response.status_code": "OK",
		"rpc.status_code": "OK", "server.address": "127.0.0.1", "network.peer.address": "127.0.0.1", "network.transport": "tcp",
	} {
		if got := attrStr(arithSrv, key); got != want {
			t.Errorf("server span %s = %q, want %q", key, got, want)
		}
	}
	if _, ok := attr(arithSrv, "error.type"); ok {
		t.Error("error.type on a success")
	}
	if got := attrStr(arithAttempt, "server.port"); got == "" || got == "0" {
		t.Errorf("attempt span server.port = %q", got)
	}
	if arithSrv.Status().Code == codes.Error || arithCall.Status().Code == codes.Error {
		t.Error("error status on a success")
	}
}

// An error and a timeout: span status Error, error.type set, on the
// client and the server side. The calls are Failfast: one client span per
// call (the call's and its single attempt's), the server span its child.
func TestTraceErrorAndTimeout(t *testing.T) {
	e := newEnv(t)
	s := server.NewServer()
	s.Plugins.Add(e.serverPlugin())
	addr := serve(t, s, map[string]any{"Arith": new(testutils.Arith), "Slow": &Slow{d: 5 * time.Second}})
	xa := xclient(t, "Arith", client.Failfast, client.DefaultOption, e.clientPlugin(), addr)
	if err := xa.Call(t.Context(), "Div", &testutils.Args{A: 1}, &testutils.Reply{}); err == nil {
		t.Fatal("Div by zero succeeded")
	}
	xs := xclient(t, "Slow", client.Failfast, client.DefaultOption, e.clientPlugin(), addr)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := xs.Call(ctx, "Mul", &testutils.Args{}, &testutils.Reply{}); err == nil {
		t.Fatal("slow call did not time out")
	}
	want := map[string]string{"Arith/Div": "UNKNOWN", "Slow/Mul": "DEADLINE_EXCEEDED"}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.sr.Ended()) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the server span of the timed-out call ends when its handler sees ctx
	}
	spans := e.sr.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	clients := map[string]sdktrace.ReadOnlySpan{}
	for _, sp := range byKind(spans, trace.SpanKindClient) {
		clients[sp.Name()] = sp
		if sp.Parent().IsValid() {
			t.Errorf("%s: the Failfast call span has a parent", sp.Name())
		}
		if got := attrStr(sp, "courier.fail_mode"); got != "failfast" {
			t.Errorf("%s: courier.fail_mode %q", sp.Name(), got)
		}
		if got := attrStr(sp, "server.port"); got == "" || got == "0" {
			t.Errorf("%s: server.port %q", sp.Name(), got)
		}
	}
	for _, sp := range byKind(spans, trace.SpanKindServer) {
		if c := clients[sp.Name()]; c == nil || sp.Parent().SpanID() != c.SpanContext().SpanID() {
			t.Errorf("%s: the server span is not the client span's child", sp.Name())
		}
	}
	for _, sp := range spans {
		if sp.Status().Code != codes.Error {
			t.Errorf("%s %v: status %v, want Error", sp.Name(), sp.SpanKind(), sp.Status())
		}
		if got := attrStr(sp, "error.type"); got != want[sp.Name()] {
			t.Errorf("%s %v: error.type %q, want %q", sp.Name(), sp.SpanKind(), got, want[sp.Name()])
		}
	}
}

// Failover: the first server drops the connection, the second answers:
// one call span with two attempt spans, the first failed.
func TestTraceFailover(t *testing.T) {
	e := newEnv(t)
	bad := serve(t, server.NewServer(), map[string]any{"Arith": Dropper{}})
	good := serve(t, server.NewServer(), map[string]any{"Arith": new(testutils.Arith)})
	opt := client.DefaultOption
	opt.Retries = 2
	xc := xclient(t, "Arith", client.Failover, opt, e.clientPlugin(), bad, good)
	xc.SetSelector(fixedSelector{key: "tcp@" + bad})
	var r testutils.Reply
	if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: 2, B: 3}, &r); err != nil || r.C != 6 {
		t.Fatalf("call: %v %d", err, r.C)
	}
	spans := byKind(e.sr.Ended(), trace.SpanKindClient)
	if len(spans) != 3 {
		t.Fatalf("%d client spans, want 3", len(spans))
	}
	call := spans[len(spans)-1]
	if attrStr(call, "courier.fail_mode") != "failover" || call.Status().Code == codes.Error {
		t.Fatalf("call span: fail mode %q status %v", attrStr(call, "courier.fail_mode"), call.Status())
	}
	first, second := spans[0], spans[1]
	if attrStr(first, "courier.attempt") != "1" || attrStr(second, "courier.attempt") != "2" {
		t.Fatalf("attempt numbers %q, %q", attrStr(first, "courier.attempt"), attrStr(second, "courier.attempt"))
	}
	if first.Status().Code != codes.Error || second.Status().Code == codes.Error {
		t.Fatalf("attempt statuses %v, %v", first.Status(), second.Status())
	}
	for _, a := range []sdktrace.ReadOnlySpan{first, second} {
		if a.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Fatal("attempt not a child of the call span")
		}
	}
}

// Failbackup: the first server is slow, the hedge to the second wins; the
// loser's attempt span ends cancelled.
func TestTraceHedge(t *testing.T) {
	e := newEnv(t)
	slowS := server.NewServer()
	slowS.Plugins.Add(e.serverPlugin())
	slow := serve(t, slowS, map[string]any{"Arith": &Slow{d: 300 * time.Millisecond}})
	fast := serve(t, server.NewServer(), map[string]any{"Arith": new(testutils.Arith)})
	opt := client.DefaultOption
	opt.BackupLatency = 20 * time.Millisecond
	xc := xclient(t, "Arith", client.Failbackup, opt, e.clientPlugin(), slow, fast)
	xc.SetSelector(fixedSelector{key: "tcp@" + slow})
	var r testutils.Reply
	if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: 4, B: 5}, &r); err != nil || r.C != 20 {
		t.Fatalf("call: %v %d", err, r.C)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.sr.Ended()) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the slow server's span ends after its handler
	}
	var loser, winner, srv sdktrace.ReadOnlySpan
	for _, s := range e.sr.Ended() {
		switch {
		case s.SpanKind() == trace.SpanKindServer:
			srv = s
		case attrStr(s, "courier.attempt") == "1":
			loser = s
		case attrStr(s, "courier.attempt") == "2":
			winner = s
		}
	}
	if loser == nil || winner == nil || srv == nil {
		t.Fatalf("spans: loser %v winner %v slow server %v", loser != nil, winner != nil, srv != nil)
	}
	if attrStr(loser, "error.type") != "CANCELED" || loser.Status().Code != codes.Error {
		t.Fatalf("loser: error.type %q status %v", attrStr(loser, "error.type"), loser.Status())
	}
	if winner.Status().Code == codes.Error || attrStr(winner, "server.port") == attrStr(loser, "server.port") {
		t.Fatalf("winner: status %v, same server as the loser", winner.Status())
	}
	// The wire has no cancel message: the slow server finishes its call,
	// in the loser's trace, as the loser attempt's child.
	if srv.Parent().SpanID() != loser.SpanContext().SpanID() {
		t.Fatal("the slow server's span is not the loser attempt's child")
	}
}

// Broadcast: one call span, one attempt span per server.
func TestTraceBroadcast(t *testing.T) {
	e := newEnv(t)
	var addrs []string
	for range 3 {
		addrs = append(addrs, serve(t, server.NewServer(), map[string]any{"Arith": new(testutils.Arith)}))
	}
	xc := xclient(t, "Arith", client.Failfast, client.DefaultOption, e.clientPlugin(), addrs...)
	if err := xc.Broadcast(t.Context(), "Mul", &testutils.Args{A: 1, B: 1}, &testutils.Reply{}); err != nil {
		t.Fatal(err)
	}
	spans := e.sr.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	call := spans[len(spans)-1]
	if attrStr(call, "courier.fail_mode") != "broadcast" {
		t.Fatalf("last span is not the broadcast call: %q", attrStr(call, "courier.fail_mode"))
	}
	ports := map[string]bool{}
	for _, s := range spans[:3] {
		if s.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Fatal("attempt not under the broadcast span")
		}
		ports[attrStr(s, "server.port")] = true
	}
	if len(ports) != 3 {
		t.Fatalf("attempts went to %d servers, want 3", len(ports))
	}
}

// A oneway call gets a client and a server span, in one trace.
func TestTraceOneway(t *testing.T) {
	e := newEnv(t)
	s := server.NewServer()
	s.Plugins.Add(e.serverPlugin())
	counter := &testutils.Counter{}
	addr := serve(t, s, map[string]any{"Counter": counter})
	xc := xclient(t, "Counter", client.Failfast, client.DefaultOption, e.clientPlugin(), addr)
	if err := xc.Oneshot(t.Context(), "Hit", &testutils.Args{A: 1}); err != nil {
		t.Fatal(err)
	}
	<-counter.WaitFor(1)
	deadline := time.Now().Add(5 * time.Second)
	for len(byKind(e.sr.Ended(), trace.SpanKindServer)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the server span ends after the handler returns
	}
	srv := byKind(e.sr.Ended(), trace.SpanKindServer)
	if len(srv) != 1 || attrStr(srv[0], "courier.oneway") != "true" {
		t.Fatalf("server spans %d", len(srv))
	}
	cl := byKind(e.sr.Ended(), trace.SpanKindClient)
	if len(cl) != 2 || cl[0].SpanContext().TraceID() != srv[0].SpanContext().TraceID() {
		t.Fatalf("client spans %d, or another trace", len(cl))
	}
}

// A Failfast call that fails before any attempt (nothing listens at the
// server's address) still gets its span, with the error.
func TestTraceFailfastNoAttempt(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	xc := xclient(t, "Arith", client.Failfast, client.DefaultOption, e.clientPlugin(), addr)
	if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: 1, B: 2}, &testutils.Reply{}); err == nil {
		t.Fatal("call to a closed port succeeded")
	}
	spans := e.sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	sp := spans[0]
	if sp.Name() != "Arith/Mul" || sp.SpanKind() != trace.SpanKindClient || sp.Status().Code != codes.Error {
		t.Fatalf("span %s %v %v", sp.Name(), sp.SpanKind(), sp.Status())
	}
	if attrStr(sp, "error.type") == "" || attrStr(sp, "rpc.response.status_code") == "OK" {
		t.Fatalf("error.type %q, status %q", attrStr(sp, "error.type"), attrStr(sp, "rpc.response.status_code"))
	}
}

// Client.Go on a single Client goes through the attempt hooks too: one
// CLIENT span per call, the server span its child, and the call counted.
func TestTraceClientGo(t *testing.T) {
	e := newEnv(t)
	s := server.NewServer()
	s.Plugins.Add(e.serverPlugin())
	addr := serve(t, s, map[string]any{"Arith": new(testutils.Arith)})
	c := client.NewClient(client.DefaultOption)
	c.Plugins = client.NewPluginContainer()
	c.Plugins.Add(e.clientPlugin())
	if err := c.Connect("tcp", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var r testutils.Reply
	call := <-c.Go(t.Context(), "Arith", "Mul", &testutils.Args{A: 2, B: 3}, &r, nil).Done
	if call.Error != nil || r.C != 6 {
		t.Fatalf("go: %v, %d", call.Error, r.C)
	}
	failed := <-c.Go(t.Context(), "Arith", "Div", &testutils.Args{A: 1}, &testutils.Reply{}, nil).Done
	if failed.Error == nil {
		t.Fatal("Div by zero succeeded")
	}
	spans := e.sr.Ended()
	cl, srv := byKind(spans, trace.SpanKindClient), byKind(spans, trace.SpanKindServer)
	if len(cl) != 2 || len(srv) != 2 {
		t.Fatalf("%d client and %d server spans, want 2 and 2", len(cl), len(srv))
	}
	for i := range cl {
		if srv[i].Parent().SpanID() != cl[i].SpanContext().SpanID() {
			t.Errorf("%s: the server span is not the Go call's child", cl[i].Name())
		}
	}
	if cl[1].Name() != "Arith/Div" || cl[1].Status().Code != codes.Error || attrStr(cl[1], "error.type") != "UNKNOWN" {
		t.Errorf("failed Go call span: %s %v %q", cl[1].Name(), cl[1].Status(), attrStr(cl[1], "error.type"))
	}
	if n, _ := histCount(t, e, "rpc.client.call.duration", map[string]string{"rpc.method": "Arith/Mul"}); n != 1 {
		t.Errorf("rpc.client.call.duration count %d, want 1", n)
	}
}

// A JSON-RPC 2.0 request over HTTP goes through the server's call
// observer: its SERVER span continues the trace of the HTTP client's
// traceparent header.
func TestTraceJSONRPC(t *testing.T) {
	e := newEnv(t)
	s := server.NewServer()
	s.Plugins.Add(e.serverPlugin())
	addr := serve(t, s, map[string]any{"Arith": new(testutils.Arith)})
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	body := `{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":6,"B":7},"id":1}`
	r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set(server.JSONRPCHeader, "true")
	r.Header.Set("traceparent", parent)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if !strings.Contains(string(b), `"C":42`) {
		t.Fatalf("answer %s", b)
	}
	spans := byKind(e.sr.Ended(), trace.SpanKindServer)
	if len(spans) != 1 {
		t.Fatalf("%d server spans, want 1", len(spans))
	}
	sp := spans[0]
	if sp.Name() != "Arith/Mul" || sp.SpanContext().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" ||
		sp.Parent().SpanID().String() != "b7ad6b7169203331" || !sp.Parent().IsRemote() {
		t.Fatalf("span %s trace %s parent %s", sp.Name(), sp.SpanContext().TraceID(), sp.Parent().SpanID())
	}
	if got := attrStr(sp, "rpc.response.status_code"); got != "OK" {
		t.Fatalf("status %q", got)
	}
}
