package serverplugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
)

// reqContext returns a request ctx as the server makes one: a pointer,
// unique per request, carrying the connection.
func reqContext(conn net.Conn) context.Context {
	return context.WithValue(context.Background(), server.RemoteConnContextKey, conn)
}

// respond runs a request through p's request hooks as a server does; a
// non-nil callErr makes the response an error response.
func respond(t testing.TB, p *MetricsPlugin, req *protocol.Message, callErr error) {
	t.Helper()
	connCtx := reqContext(nil)
	if err := p.PreReadRequest(connCtx); err != nil {
		t.Fatal(err)
	}
	if err := p.PostReadRequest(connCtx, req, nil); err != nil {
		t.Fatal(err)
	}
	ctx := reqContext(nil)
	if err := p.PreHandleRequest(ctx, req); err != nil {
		t.Fatal(err)
	}
	if req.IsOneway() {
		return
	}
	res := req.Clone()
	res.SetMessageType(protocol.Response)
	if callErr != nil {
		res.SetMessageStatusType(protocol.Error)
	}
	if err := p.PostWriteResponse(ctx, req, res, nil); err != nil {
		t.Fatal(err)
	}
}

// counts reads the per-method metrics of path.method from r.
func counts(r metrics.Registry, prefix, path, method string) (read, write, errs, calls, inFlight int64) {
	base := prefix + "service." + path + "." + method
	get := func(suffix string) interface{} { return r.Get(base + suffix) }
	if m, ok := get(suffixRead).(metrics.Meter); ok {
		read = m.Count()
	}
	if m, ok := get(suffixWrite).(metrics.Meter); ok {
		write = m.Count()
	}
	if m, ok := get(suffixError).(metrics.Meter); ok {
		errs = m.Count()
	}
	if h, ok := get(suffixCallTime).(metrics.Histogram); ok {
		calls = h.Count()
	}
	if c, ok := get(suffixInFlight).(metrics.Counter); ok {
		inFlight = c.Count()
	}
	return
}

func TestMetricsRequestCounts(t *testing.T) {
	reg := metrics.NewRegistry()
	p := NewMetricsPlugin(reg)
	p.Prefix = "" // set before use
	for i := 0; i < 7; i++ {
		var err error
		if i%3 == 0 {
			err = fmt.Errorf("call %d failed", i)
		}
		respond(t, p, request("Arith", "Mul"), err)
	}
	respond(t, p, request("Arith", "Add"), nil)
	ow := request("Arith", "Notify")
	ow.SetOneway(true)
	respond(t, p, ow, nil)
	hb := request("", "")
	hb.SetHeartbeat(true)
	respond(t, p, hb, nil)
	// A failed read is not counted.
	if err := p.PostReadRequest(context.Background(), nil, fmt.Errorf("bad frame")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		method                             string
		read, write, errs, calls, inFlight int64
	}{
		{"Mul", 7, 7, 3, 7, 0},
		{"Add", 1, 1, 0, 1, 0},
		{"Notify", 1, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			read, write, errs, calls, inFlight := counts(reg, "", "Arith", tt.method)
			if read != tt.read || write != tt.write || errs != tt.errs || calls != tt.calls || inFlight != tt.inFlight {
				t.Fatalf("read %d write %d errors %d calls %d in flight %d; want %d %d %d %d %d",
					read, write, errs, calls, inFlight, tt.read, tt.write, tt.errs, tt.calls, tt.inFlight)
			}
		})
	}
	if reg.Get("service..."+suffixRead) != nil || reg.Get("service.."+suffixRead) != nil {
		t.Fatal("heartbeat counted")
	}
}

func TestMetricsInFlightAndCallTime(t *testing.T) {
	p := NewMetricsPlugin(nil)
	reqs := []*protocol.Message{request("S", "m"), request("S", "m"), request("S", "m")}
	ctxs := make([]context.Context, len(reqs))
	for i, r := range reqs {
		ctxs[i] = reqContext(nil)
		if err := p.PreHandleRequest(ctxs[i], r); err != nil {
			t.Fatal(err)
		}
		_ = p.PreHandleRequest(ctxs[i], r) // a second call for the same request is ignored
	}
	if _, _, _, _, inFlight := counts(p.reg(), "", "S", "m"); inFlight != 3 {
		t.Fatalf("in flight %d, want 3", inFlight)
	}
	time.Sleep(2 * time.Millisecond) // a measurable call time, not a wait for a server
	for i, r := range reqs {
		// The server may hand PostWriteResponse a copy of the request.
		if err := p.PostWriteResponse(ctxs[i], r.Clone(), r.Clone(), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, _, _, calls, inFlight := counts(p.reg(), "", "S", "m")
	if inFlight != 0 || calls != 3 {
		t.Fatalf("in flight %d calls %d, want 0 and 3", inFlight, calls)
	}
	h := p.reg().Get("service.S.m" + suffixCallTime).(metrics.Histogram)
	if min := h.Min(); min < int64(2*time.Millisecond) {
		t.Fatalf("min call time %v, want >= 2ms", time.Duration(min))
	}
	// A response to a request this plugin never saw read (an earlier plugin
	// failed it) is counted but does not drive in-flight negative.
	ctx := reqContext(nil)
	stray := request("S", "m")
	res := stray.Clone()
	res.SetMessageStatusType(protocol.Error)
	if err := p.PostWriteResponse(ctx, stray, res, nil); err != nil {
		t.Fatal(err)
	}
	// A non-pointer ctx cannot identify a request: nothing is tracked.
	if err := p.PreHandleRequest(context.Background(), stray); err != nil {
		t.Fatal(err)
	}
	if err := p.PostWriteResponse(context.Background(), stray, stray.Clone(), nil); err != nil {
		t.Fatal(err)
	}
	_, write, errs, _, inFlight := counts(p.reg(), "", "S", "m")
	if write != 5 || errs != 1 || inFlight != 0 {
		t.Fatalf("write %d errors %d in flight %d, want 5 1 0", write, errs, inFlight)
	}
	if err := p.PostWriteResponse(ctx, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsConnectionsAndServices(t *testing.T) {
	var p MetricsPlugin // zero value works
	p.Prefix = "x."
	conn := tcpConn("127.0.0.1", "")
	for i := 0; i < 3; i++ {
		if c, ok := p.HandleConnAccept(conn); !ok || c != conn {
			t.Fatal("metrics refused or replaced a connection")
		}
	}
	if !p.HandleConnClose(conn) {
		t.Fatal("HandleConnClose returned false")
	}
	for _, err := range []error{
		p.Register("Arith", nil, ""),
		p.RegisterFunction("fn", "mul", nil, ""),
		p.Register("Echo", nil, ""),
		p.Unregister("Echo"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	r := p.reg()
	if got := r.Get("x.connections").(metrics.Counter).Count(); got != 2 {
		t.Fatalf("connections %d, want 2", got)
	}
	if got := r.Get("x.clientMeter").(metrics.Meter).Count(); got != 3 {
		t.Fatalf("clientMeter %d, want 3", got)
	}
	if got := r.Get("x.serviceCounter").(metrics.Counter).Count(); got != 2 {
		t.Fatalf("serviceCounter %d, want 2", got)
	}
}

func TestMetricsMethodCardinality(t *testing.T) {
	p := NewMetricsPlugin(nil)
	p.limit = 20 // maxMethodKeys in production; creating 4096 meters is slow under -race
	for i := 0; i < int(p.limit)+10; i++ {
		respond(t, p, request("S", fmt.Sprintf("m%d", i)), nil)
	}
	read, _, _, _, _ := counts(p.reg(), "", otherMethod, otherMethod)
	if read != 10 {
		t.Fatalf("%d requests under service.other.other, want 10", read)
	}
	if got := p.nmethods.Load(); got != p.limit+1 {
		t.Fatalf("%d method keys, want %d", got, p.limit+1)
	}
}

func TestMetricsConcurrentHooks(t *testing.T) {
	p := NewMetricsPlugin(nil)
	const workers, per = 50, 200
	var wg sync.WaitGroup
	conn := tcpConn("127.0.0.1", "")
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.HandleConnAccept(conn)
			for i := 0; i < per; i++ {
				respond(t, p, request("S", fmt.Sprintf("m%d", i%3)), nil)
			}
			p.HandleConnClose(conn)
		}()
	}
	wg.Wait()
	var total int64
	for m := 0; m < 3; m++ {
		read, write, _, calls, inFlight := counts(p.reg(), "", "S", fmt.Sprintf("m%d", m))
		if read != write || read != calls || inFlight != 0 {
			t.Fatalf("m%d: read %d write %d calls %d in flight %d", m, read, write, calls, inFlight)
		}
		total += read
	}
	if total != workers*per {
		t.Fatalf("%d requests counted, want %d", total, workers*per)
	}
	if got := p.reg().Get("connections").(metrics.Counter).Count(); got != 0 {
		t.Fatalf("connections %d, want 0", got)
	}
}

func TestMetricsHTTPHandler(t *testing.T) {
	p := NewMetricsPlugin(nil)
	respond(t, p, request("Arith", "Mul"), nil)
	rec := httptest.NewRecorder()
	p.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	var doc map[string]map[string]interface{}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	if got := doc["service.Arith.Mul"+suffixRead]["count"]; got != float64(1) {
		t.Fatalf("Read_Qps count %v, want 1; body %s", got, rec.Body)
	}

	rec = httptest.NewRecorder()
	p.ExpHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/metrics", nil))
	if !strings.Contains(rec.Body.String(), "service.Arith.Mul"+suffixRead) {
		t.Fatalf("expvar output lacks the meter:\n%s", rec.Body)
	}
	p.Exp()
	p.Exp() // a second registration must not panic
}

func TestWriteGraphite(t *testing.T) {
	r := metrics.NewRegistry()
	metrics.GetOrRegisterCounter("c", r).Inc(3)
	metrics.GetOrRegisterGauge("g", r).Update(9)
	metrics.GetOrRegisterGaugeFloat64("gf", r).Update(1.5)
	metrics.GetOrRegisterMeter("m with space", r).Mark(2)
	h := metrics.GetOrRegisterHistogram("h", r, metrics.NewUniformSample(10))
	h.Update(4)
	metrics.GetOrRegisterTimer("t", r).Update(time.Second)
	var b strings.Builder
	now := time.Unix(1700000000, 0)
	if err := writeGraphite(&b, r, "courier", now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"courier.c.count 3 1700000000\n",
		"courier.g.value 9 1700000000\n",
		"courier.gf.value 1.5 1700000000\n",
		"courier.m_with_space.count 2 1700000000\n",
		"courier.h.max 4 1700000000\n",
		"courier.h.50-percentile 4 1700000000\n",
		"courier.t.count 1 1700000000\n",
		"courier.t.max 1000000000 1700000000\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if f := strings.Fields(l); len(f) != 3 {
			t.Errorf("line %q is not 'path value timestamp'", l)
		}
	}
	b.Reset()
	if err := writeGraphite(&b, r, "", now); err != nil || !strings.Contains(b.String(), "\nc.count 3 ") && !strings.HasPrefix(b.String(), "c.count 3 ") {
		t.Fatalf("no prefix: err %v\n%s", err, b.String())
	}
}

func TestMetricsGraphiteExporter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lines := make(chan string, 1000)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				lines <- sc.Text()
			}
			c.Close()
		}
	}()
	p := NewMetricsPlugin(nil)
	respond(t, p, request("Arith", "Mul"), nil)
	p.Graphite(20*time.Millisecond, "courier", ln.Addr().(*net.TCPAddr))
	t.Cleanup(p.Stop)
	want := "courier.service.Arith.Mul" + suffixRead + ".count 1 "
	deadline := time.After(5 * time.Second)
	for {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, want) {
				p.Stop()
				return
			}
		case <-deadline:
			t.Fatalf("no %q line within 5s", want)
		}
	}
}

// logRecorder is a metrics.Logger that signals every Printf.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	got   chan struct{}
}

func (l *logRecorder) Printf(format string, v ...interface{}) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
	l.mu.Unlock()
	select {
	case l.got <- struct{}{}:
	default:
	}
}

func TestMetricsLogAndStop(t *testing.T) {
	p := NewMetricsPlugin(nil)
	respond(t, p, request("Arith", "Mul"), nil)
	l := &logRecorder{got: make(chan struct{}, 1)}
	p.Log(10*time.Millisecond, l)
	p.Log(0, l)   // refused, logged
	p.Log(1, nil) // refused, logged
	select {
	case <-l.got:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing logged within 5s")
	}
	p.Stop()
	l.mu.Lock()
	joined := strings.Join(l.lines, "")
	n := len(l.lines)
	l.mu.Unlock()
	if !strings.Contains(joined, "service.Arith.Mul"+suffixRead) {
		t.Fatalf("log lacks the meter:\n%s", joined)
	}
	// After Stop nothing more is logged: the exporter goroutines are gone
	// (the leak check in TestMain verifies it too).
	p.Stop() // idempotent
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) != n {
		t.Fatalf("logged after Stop")
	}
	p.Graphite(time.Second, "x", nil) // refused, logged
}

func BenchmarkMetricsHooks(b *testing.B) {
	p := NewMetricsPlugin(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := request("Arith", "Mul")
		res := req.Clone()
		ctx := reqContext(nil)
		for pb.Next() {
			_ = p.PostReadRequest(ctx, req, nil)
			_ = p.PreHandleRequest(ctx, req)
			_ = p.PostWriteResponse(ctx, req, res, nil)
		}
	})
}

func TestMetricsConnCloseEndsInFlight(t *testing.T) {
	p := NewMetricsPlugin(nil)
	a, b := tcpConn("127.0.0.1", ""), tcpConn("127.0.0.2", "")
	p.HandleConnAccept(a)
	p.HandleConnAccept(b)
	for _, c := range []net.Conn{a, a, b} {
		if err := p.PreHandleRequest(reqContext(c), request("S", "m")); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, _, n := counts(p.reg(), "", "S", "m"); n != 3 {
		t.Fatalf("in flight %d, want 3", n)
	}
	p.HandleConnClose(a) // a's two responses are dropped with the connection
	if _, _, _, _, n := counts(p.reg(), "", "S", "m"); n != 1 {
		t.Fatalf("in flight %d after closing a, want 1", n)
	}
	if got := p.pendingN.Load(); got != 1 {
		t.Fatalf("%d pending requests, want 1", got)
	}
}
