package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
)

// getStatus does a GET on the server's rpcx port and returns status and body.
func getStatus(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// fakeReadiness is a ReadinessPlugin whose answer the test sets.
type fakeReadiness struct{ ready atomic.Bool }

func (f *fakeReadiness) Ready() bool { return f.ready.Load() }

// unregisterRecorder records Unregister calls (a register plugin's view).
type unregisterRecorder struct {
	mu    sync.Mutex
	names []string
	ready func() bool // Server.Ready at the time of the call
}

func (u *unregisterRecorder) Register(string, interface{}, string) error { return nil }
func (u *unregisterRecorder) Unregister(name string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ready() {
		name += "(while ready)"
	}
	u.names = append(u.names, name)
	return nil
}

func TestProbesAndRoutes(t *testing.T) {
	s := NewServer(WithHTTPHandler("/metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "metric 1\n")
	})))
	rp := &fakeReadiness{}
	s.Plugins.Add(rp)
	if s.Ready() {
		t.Fatal("ready before a listener accepts")
	}
	addr := testServer(t, s)
	if code, _ := getStatus(t, addr, HealthzPath); code != 200 {
		t.Fatalf("/healthz = %d, want 200", code)
	}
	if code, _ := getStatus(t, addr, ReadyzPath); code != 503 {
		t.Fatalf("/readyz with a plugin not ready = %d, want 503", code)
	}
	changed := s.ReadinessChanged()
	rp.ready.Store(true)
	s.NotifyReadiness()
	<-changed
	if code, body := getStatus(t, addr, ReadyzPath); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz = %d %q, want 200 ready", code, body)
	}
	s.SetReady(false)
	if code, _ := getStatus(t, addr, ReadyzPath); code != 503 {
		t.Fatalf("/readyz after SetReady(false) = %d, want 503", code)
	}
	s.SetReady(true)
	if code, body := getStatus(t, addr, "/metrics"); code != 200 || body != "metric 1\n" {
		t.Fatalf("/metrics = %d %q", code, body)
	}
	s.HandleHTTP("/debug/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "debug "+r.URL.Path)
	}))
	if code, body := getStatus(t, addr, "/debug/courier"); code != 200 || body != "debug /debug/courier" {
		t.Fatalf("/debug/courier = %d %q", code, body)
	}
	s.HandleHTTP("/metrics", nil)
	if code, _ := getStatus(t, addr, "/metrics"); code != 404 {
		t.Fatalf("/metrics after removal = %d, want 404", code)
	}
}

// The shutdown order: not ready, then unregistered from registries while
// still serving, then the delay, then the drain.
func TestShutdownOrder(t *testing.T) {
	const delay = 300 * time.Millisecond
	s, addr := newArithServer(t, WithShutdownDelay(delay))
	rec := &unregisterRecorder{ready: s.Ready}
	s.Plugins.Add(rec)
	if !s.Ready() {
		t.Fatal("not ready after Serve")
	}
	rc := dialRaw(t, addr)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Shutdown(context.Background()) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("still ready after Shutdown began")
		}
		time.Sleep(time.Millisecond) // polling the state, not waiting for a server
	}
	// During the delay calls are served normally and /readyz is 503.
	res := rc.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":6,"B":7}`), nil))
	if res.MessageStatusType() != protocol.Normal || string(res.Payload) != `{"C":42}` {
		t.Fatalf("call during the delay: status %v payload %q err %q", res.MessageStatusType(), res.Payload, errText(res))
	}
	if code, _ := getStatus(t, addr, ReadyzPath); code != 503 {
		t.Fatalf("/readyz during shutdown = %d, want 503", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("Shutdown returned after %v, before the %v delay", el, delay)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.names) != 1 || rec.names[0] != "Arith" {
		t.Fatalf("Unregister calls = %v, want [Arith] after readiness went false", rec.names)
	}
}

// callRecorder is a CallObserverPlugin that records what it sees.
type callRecorder struct {
	mu     sync.Mutex
	starts int
	ends   []string
	sawKey bool
}

type ctxKey struct{}

func (r *callRecorder) StartCall(ctx context.Context, _ net.Conn, req *protocol.Message) context.Context {
	r.mu.Lock()
	r.starts++
	r.mu.Unlock()
	return context.WithValue(ctx, ctxKey{}, req.ServiceMethod)
}

func (r *callRecorder) EndCall(ctx context.Context, req, res *protocol.Message, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sawKey = r.sawKey || ctx.Value(ctxKey{}) == req.ServiceMethod
	kind := "oneway"
	if res != nil {
		kind = "Normal"
		if res.MessageStatusType() == protocol.Error {
			kind = "Error"
		}
	}
	e := "ok"
	if err != nil {
		e = "err"
	}
	r.ends = append(r.ends, req.ServiceMethod+":"+kind+":"+e)
}

func TestCallObserver(t *testing.T) {
	s := NewServer()
	rec := &callRecorder{}
	s.Plugins.Add(rec)
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	rc := dialRaw(t, addr)
	rc.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":3}`), nil))
	rc.call(newReq("Arith", "Fail", protocol.JSON, []byte(`{"A":2,"B":3}`), nil))
	ow := newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":3}`), nil)
	ow.SetOneway(true)
	rc.send(ow)
	rc.call(newReq("Arith", "Add", protocol.JSON, []byte(`{"A":2,"B":3}`), nil))
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec.mu.Lock()
		n := len(rec.ends)
		rec.mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %d ends, want 4", n)
		}
		time.Sleep(time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.starts != 4 || !rec.sawKey {
		t.Fatalf("starts=%d sawKey=%v", rec.starts, rec.sawKey)
	}
	want := map[string]bool{"Mul:Normal:ok": true, "Fail:Error:err": true, "Mul:oneway:ok": true, "Add:Normal:ok": true}
	for _, e := range rec.ends {
		if !want[e] {
			t.Fatalf("unexpected end %q in %v", e, rec.ends)
		}
		delete(want, e)
	}
}
