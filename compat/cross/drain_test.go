package cross

import (
	"context"
	"testing"
	"time"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	cshare "github.com/courier-rpc/courier/share"
	rclient "github.com/smallnest/rpcx/client"
	rprotocol "github.com/smallnest/rpcx/protocol"
)

// TestRpcxClientIgnoresDrainNotice: during a courier server's graceful
// Shutdown an rpcx client gets the drain notice (a heartbeat-flagged
// response with seq DrainSeq that matches no call), keeps its connection,
// and its pending call completes.
func TestRpcxClientIgnoresDrainNotice(t *testing.T) {
	srv := startCourierServer(t, serverConfig{})
	xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stMsgPack, false))
	rec := &decodeRecorder{}
	pc := rclient.NewPluginContainer()
	pc.Add(rec)
	xc.SetPlugins(pc)

	var r testsvc.Reply
	if err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 2, B: 2}, &r); err != nil {
		t.Fatalf("warm-up Mul: %v", err)
	}
	type result struct {
		c   int
		err error
	}
	slow := make(chan result, 1)
	go func() {
		var r testsvc.Reply
		err := xc.Call(ctxTimeout(t), "Slow", &testsvc.Args{A: 77}, &r)
		slow <- result{r.C, err}
	}()
	select {
	case <-srv.svc.SlowStarted:
	case <-time.After(5 * time.Second):
		t.Fatal("Slow did not start in 5s")
	}

	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownErr <- srv.shutdown(ctx)
	}()

	isDrain := func(m *rprotocol.Message) bool { return m.Seq() == cshare.DrainSeq }
	if !waitUntil(5*time.Second, func() bool { return rec.count(isDrain) == 1 }) {
		t.Fatalf("the rpcx client decoded %d drain notices in 5s, want 1", rec.count(isDrain))
	}
	if !srv.tap.WaitFrame(func(f testsvc.Frame) bool {
		return f.Seq() == cshare.DrainSeq && f.IsResponse() && f.IsHeartbeat() && f.Metadata()[cshare.DrainKey] == "1"
	}) {
		t.Error("the drain notice on the wire is not a heartbeat-flagged response with seq DrainSeq and DrainKey=1")
	}

	// A call that arrives after the drain began is refused with courier's
	// text; the rpcx client sees a plain service error.
	err := xc.Call(ctxTimeout(t), "Mul", &testsvc.Args{A: 3, B: 3}, &r)
	if err == nil || err.Error() != "server is shutting down" {
		t.Errorf("call during drain: %v, want %q", err, "server is shutting down")
	}

	select {
	case res := <-slow:
		t.Fatalf("Slow returned before it was released: %d, %v", res.c, res.err)
	default:
	}
	srv.svc.Release()
	select {
	case res := <-slow:
		if res.err != nil || res.c != 77 {
			t.Fatalf("pending Slow during Shutdown: %d, %v; want 77, nil", res.c, res.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending Slow did not complete in 5s after release")
	}
	select {
	case err := <-shutdownErr:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return in 10s")
	}
}
