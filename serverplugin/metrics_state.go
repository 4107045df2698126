package serverplugin

import (
	"context"
	"net"
	"reflect"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
)

// maxPending bounds the requests a MetricsPlugin remembers between
// PreHandleRequest and PostWriteResponse; past it, new requests are not
// marked in flight (their other metrics are still recorded).
const maxPending = 1 << 16

// reqState is what PreHandleRequest remembers of a request for
// PostWriteResponse: the metrics it is counted under, when it started, and
// its connection (to forget it if the connection closes unanswered).
type reqState struct {
	m     *methodMetrics
	start int64 // Unix ns
	conn  net.Conn
}

// requestKey returns the key that identifies a request between hooks: its
// ctx, which the server keeps from PreHandleRequest to PostWriteResponse
// (the request message may be a copy by then). Only pointer contexts can
// tell requests apart; for others it reports false.
func requestKey(ctx context.Context) (context.Context, bool) {
	if ctx == nil || reflect.TypeOf(ctx).Kind() != reflect.Pointer {
		return nil, false
	}
	return ctx, true
}

// begin remembers a request's metrics and start time, and reports whether
// it did.
func (p *MetricsPlugin) begin(ctx context.Context, m *methodMetrics) bool {
	key, ok := requestKey(ctx)
	if !ok || p.pendingN.Load() >= maxPending {
		return false
	}
	conn, _ := ctx.Value(server.RemoteConnContextKey).(net.Conn)
	s := &reqState{m: m, start: time.Now().UnixNano(), conn: conn}
	if _, loaded := p.pending.LoadOrStore(key, s); loaded {
		return false // PreHandleRequest twice for one request
	}
	p.pendingN.Add(1)
	return true
}

// end returns the metrics and start time (0: unknown) of the request of
// ctx and whether begin remembered it. If not, they are found by req's
// names and the start time the server put in ctx.
func (p *MetricsPlugin) end(ctx context.Context, req *protocol.Message) (*methodMetrics, int64, bool) {
	if key, ok := requestKey(ctx); ok {
		if v, ok := p.pending.LoadAndDelete(key); ok {
			p.pendingN.Add(-1)
			s := v.(*reqState)
			return s.m, s.start, true
		}
	}
	return p.method(req.ServicePath, req.ServiceMethod), startFromContext(ctx), false
}

// forgetConn ends the in-flight marks of conn's unanswered requests: a
// closed connection's pending responses are dropped, not written.
func (p *MetricsPlugin) forgetConn(conn net.Conn) {
	if conn == nil || p.pendingN.Load() == 0 {
		return
	}
	p.pending.Range(func(k, v interface{}) bool {
		if s := v.(*reqState); s.conn == conn {
			if _, ok := p.pending.LoadAndDelete(k); ok {
				p.pendingN.Add(-1)
				s.m.inFlight.Dec(1)
			}
		}
		return true
	})
}

// startFromContext returns the request start time the server put in ctx, or 0.
func startFromContext(ctx context.Context) int64 {
	if ctx == nil {
		return 0
	}
	start, _ := ctx.Value(server.StartRequestContextKey).(int64)
	return start
}
