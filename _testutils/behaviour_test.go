package testutils_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	tu "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// env is one server and one connected client over one transport.
type env struct {
	srv     *server.Server
	cli     *client.Client
	counter *tu.Counter
	network string
	address string
}

func start(t *testing.T, tr tu.Transport, opt client.Option) *env {
	t.Helper()
	ln, network, address, clientTLS := tr.Listen(t)
	s := server.NewServer()
	counter := &tu.Counter{}
	for name, rcvr := range map[string]any{
		"Arith": new(tu.Arith), "Echo": new(tu.Echo), "ProtoEcho": new(tu.ProtoEcho),
		"Meta": new(tu.Meta), "Counter": counter, "Deadline": new(tu.Deadline),
	} {
		if err := s.RegisterName(name, rcvr, ""); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(network, ln) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	opt.TLSConfig = clientTLS
	if network == "kcp" {
		opt.Block = tu.KCPBlock()
		// KCP runs on UDP: a closed server sends nothing, so heartbeats are
		// how the client notices (as documented for the kcp network). The
		// wait allows for a heartbeat queued behind a thousand calls in
		// KCP's send window on a loaded machine (1 s was seen to run out
		// under -race); a killed server is still noticed within the 5 s
		// TestServerKilledMidCall allows.
		opt.Heartbeat, opt.HeartbeatInterval, opt.MaxWaitForHeartbeat = true, 100*time.Millisecond, 3*time.Second
	}
	c := client.NewClient(opt)
	if err := c.Connect(network, address); err != nil {
		t.Fatalf("connect %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { c.Close() })
	return &env{srv: s, cli: c, counter: counter, network: network, address: address}
}

func forEachTransport(t *testing.T, fn func(t *testing.T, tr tu.Transport)) {
	for _, tr := range append(tu.Transports(), tu.ExtraTransports()...) {
		t.Run(tr.Name, func(t *testing.T) { fn(t, tr) })
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestRoundTripSerializeTypes calls each serialize type, with and without
// gzip, over every transport.
func TestRoundTripSerializeTypes(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr tu.Transport) {
		for _, ct := range []protocol.CompressType{protocol.None, protocol.Gzip} {
			for _, st := range []protocol.SerializeType{protocol.SerializeNone, protocol.JSON, protocol.ProtoBuffer, protocol.MsgPack, protocol.Thrift} {
				t.Run(fmt.Sprintf("%s/gzip=%t", st, ct == protocol.Gzip), func(t *testing.T) {
					opt := client.DefaultOption
					opt.SerializeType, opt.CompressType = st, ct
					e := start(t, tr, opt)
					ctx := ctxTimeout(t, 10*time.Second)
					switch st {
					case protocol.SerializeNone, protocol.Thrift:
						in := bytes.Repeat([]byte("courier "), 300) // > 1 KiB, compressible
						var out []byte
						if err := e.cli.Call(ctx, "Echo", "Echo", in, &out); err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(in, out) {
							t.Fatalf("echo returned %d bytes, want %d", len(out), len(in))
						}
					case protocol.ProtoBuffer:
						in := wrapperspb.String(strings.Repeat("x", 2000))
						out := &wrapperspb.StringValue{}
						if err := e.cli.Call(ctx, "ProtoEcho", "Echo", in, out); err != nil {
							t.Fatal(err)
						}
						if out.Value != in.Value {
							t.Fatalf("proto echo mismatch: %d bytes", len(out.Value))
						}
					default:
						reply := &tu.Reply{}
						if err := e.cli.Call(ctx, "Arith", "Mul", &tu.Args{A: 7, B: 6}, reply); err != nil {
							t.Fatal(err)
						}
						if reply.C != 42 {
							t.Fatalf("Mul = %d, want 42", reply.C)
						}
					}
				})
			}
		}
	})
}

// TestMetadataBothWays sends request metadata and reads response metadata.
func TestMetadataBothWays(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr tu.Transport) {
		e := start(t, tr, client.DefaultOption)
		res := map[string]string{}
		ctx := context.WithValue(ctxTimeout(t, 5*time.Second), share.ReqMetaDataKey, map[string]string{"k": "v", "trace": "1"})
		ctx = context.WithValue(ctx, share.ResMetaDataKey, res)
		reply := &tu.Reply{}
		if err := e.cli.Call(ctx, "Meta", "Echo", &tu.Args{}, reply); err != nil {
			t.Fatal(err)
		}
		if reply.C != 2 {
			t.Errorf("server saw %d metadata entries, want 2", reply.C)
		}
		if res["k"] != "v" || res["trace"] != "1" || res["echo"] != "yes" {
			t.Errorf("response metadata = %v", res)
		}
	})
}

// TestServiceErrorAndPanic checks that handler errors and panics become
// service errors and the connection keeps working.
func TestServiceErrorAndPanic(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr tu.Transport) {
		e := start(t, tr, client.DefaultOption)
		ctx := ctxTimeout(t, 5*time.Second)
		err := e.cli.Call(ctx, "Arith", "Div", &tu.Args{A: 1}, &tu.Reply{})
		if err == nil || err.Error() != tu.ErrDivideByZero.Error() || !client.IsServiceError(err) {
			t.Fatalf("Div by zero: err = %v (service error %t)", err, client.IsServiceError(err))
		}
		if err := e.cli.Call(ctx, "Arith", "Panic", &tu.Args{}, &tu.Reply{}); err == nil || !client.IsServiceError(err) {
			t.Fatalf("Panic: err = %v, want a service error", err)
		}
		if err := e.cli.Call(ctx, "Nope", "Mul", &tu.Args{}, &tu.Reply{}); err == nil || err.Error() != "rpcx: can't find service Nope" {
			t.Fatalf("unknown service: err = %v", err)
		}
		if err := e.cli.Call(ctx, "Arith", "Nope", &tu.Args{}, &tu.Reply{}); err == nil || err.Error() != "rpcx: can't find method Nope" {
			t.Fatalf("unknown method: err = %v", err)
		}
		reply := &tu.Reply{}
		if err := e.cli.Call(ctx, "Arith", "Add", &tu.Args{A: 1, B: 2}, reply); err != nil || reply.C != 3 {
			t.Fatalf("after errors: Add = %d, %v", reply.C, err)
		}
	})
}

// TestOnewayAndHeartbeat sends oneway requests (no response) and a raw
// heartbeat (answered with the same payload).
func TestOnewayAndHeartbeat(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr tu.Transport) {
		e := start(t, tr, client.DefaultOption)
		ctx := ctxTimeout(t, 5*time.Second)
		const n = 20
		for i := 0; i < n; i++ {
			req := protocol.NewMessage()
			req.SetOneway(true)
			req.SetSerializeType(protocol.JSON)
			req.ServicePath, req.ServiceMethod = "Counter", "Hit"
			req.Payload = []byte(`{"A":1,"B":2}`)
			if _, _, err := e.cli.SendRaw(ctx, req); err != nil {
				t.Fatalf("oneway %d: %v", i, err)
			}
		}
		select {
		case <-e.counter.WaitFor(n):
		case <-ctx.Done():
			t.Fatalf("oneway: server counted %d of %d", e.counter.Count(), n)
		}
		hb := protocol.NewMessage()
		hb.SetHeartbeat(true)
		hb.Payload = []byte("ping")
		_, payload, err := e.cli.SendRaw(ctx, hb)
		if err != nil || string(payload) != "ping" {
			t.Fatalf("heartbeat: payload %q, err %v", payload, err)
		}
	})
}

// TestHeartbeatOption keeps a connection with heartbeats on usable.
func TestHeartbeatOption(t *testing.T) {
	opt := client.DefaultOption
	opt.Heartbeat = true
	opt.HeartbeatInterval = 20 * time.Millisecond
	opt.MaxWaitForHeartbeat = time.Second
	e := start(t, tu.Transports()[1], opt)
	ctx := ctxTimeout(t, 5*time.Second)
	for i := 0; i < 5; i++ {
		reply := &tu.Reply{}
		if err := e.cli.Call(ctx, "Arith", "Sleep", &tu.Args{A: 30, B: i}, reply); err != nil || reply.C != i {
			t.Fatalf("call %d with heartbeats: %d, %v", i, reply.C, err)
		}
	}
	if e.cli.IsShutdown() {
		t.Fatal("heartbeats closed a healthy connection")
	}
}

// TestTimeoutAndCancel: a deadline reaches the handler, and a timed-out or
// cancelled call returns promptly with the context's error.
func TestTimeoutAndCancel(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr tu.Transport) {
		e := start(t, tr, client.DefaultOption)

		reply := &tu.Reply{}
		if err := e.cli.Call(ctxTimeout(t, time.Second), "Deadline", "Remaining", &tu.Args{}, reply); err != nil {
			t.Fatal(err)
		}
		if reply.C <= 0 || reply.C > 1000 {
			t.Errorf("handler saw %d ms remaining, want (0, 1000]", reply.C)
		}

		begin := time.Now()
		err := e.cli.Call(ctxTimeout(t, 100*time.Millisecond), "Arith", "Sleep", &tu.Args{A: 5000}, &tu.Reply{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("timeout: err = %v", err)
		}
		if el := time.Since(begin); el > 2*time.Second {
			t.Fatalf("timeout took %v", el)
		}

		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		if err := e.cli.Call(ctx, "Arith", "Sleep", &tu.Args{A: 5000}, &tu.Reply{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel: err = %v", err)
		}
		// The connection is still good.
		if err := e.cli.Call(ctxTimeout(t, 5*time.Second), "Arith", "Mul", &tu.Args{A: 2, B: 3}, reply); err != nil || reply.C != 6 {
			t.Fatalf("after cancel: %d, %v", reply.C, err)
		}
	})
}

// TestConcurrentOutOfOrder runs 1,000 concurrent calls on one connection
// whose handlers finish in random order.
func TestConcurrentOutOfOrder(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr tu.Transport) {
		e := start(t, tr, client.DefaultOption)
		ctx := ctxTimeout(t, 30*time.Second)
		const n = 1000
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				reply := &tu.Reply{}
				if err := e.cli.Call(ctx, "Arith", "Sleep", &tu.Args{A: rand.IntN(20), B: i}, reply); err != nil {
					errs <- err
					return
				}
				if reply.C != i {
					errs <- fmt.Errorf("call %d got reply %d", i, reply.C)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

// TestServerKilledMidCall: closing the server under a pending call fails the
// call promptly instead of hanging.
func TestServerKilledMidCall(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr tu.Transport) {
		e := start(t, tr, client.DefaultOption)
		done := make(chan error, 1)
		go func() {
			done <- e.cli.Call(ctxTimeout(t, 20*time.Second), "Arith", "Sleep", &tu.Args{A: 10000}, &tu.Reply{})
		}()
		// Wait until the call is in flight on the server.
		waitUntil(t, 5*time.Second, func() bool { return len(e.srv.ActiveClientConn()) > 0 })
		time.Sleep(20 * time.Millisecond)
		e.srv.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("call succeeded although the server was closed")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("call hung after the server was closed")
		}
	})
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
