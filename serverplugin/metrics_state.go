package serverplugin

import (
	"context"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
)

// maxPending bounds the requests whose start a MetricsPlugin remembers
// between PostReadRequest and PostWriteResponse, so that requests that are
// never answered (their connection died) cannot grow memory without limit.
const maxPending = 1 << 16

// reqState is what PostReadRequest remembers of a request for
// PostWriteResponse: the metrics it was counted under (plugins added after
// the MetricsPlugin may rename the request) and when it was read.
type reqState struct {
	m     *methodMetrics
	start int64 // Unix ns
}

// begin remembers r's metrics and start time, and reports whether it did
// (not when maxPending requests are already remembered).
func (p *MetricsPlugin) begin(r *protocol.Message, m *methodMetrics) bool {
	if p.pendingN.Load() >= maxPending {
		return false
	}
	prev, loaded := p.pending.Swap(r, &reqState{m: m, start: time.Now().UnixNano()})
	if loaded {
		// r was read again without being answered (a server that reuses
		// messages of requests it never answered): the old one is over.
		prev.(*reqState).m.inFlight.Dec(1)
	} else {
		p.pendingN.Add(1)
	}
	return true
}

// end returns the metrics and start time (0: unknown) of req and whether
// begin remembered it; if not (an earlier plugin failed the request before
// PostReadRequest reached this plugin), they are found by req's names and
// the start time the server put in ctx.
func (p *MetricsPlugin) end(ctx context.Context, req *protocol.Message) (*methodMetrics, int64, bool) {
	if v, ok := p.pending.LoadAndDelete(req); ok {
		p.pendingN.Add(-1)
		s := v.(*reqState)
		return s.m, s.start, true
	}
	return p.method(req.ServicePath, req.ServiceMethod), startFromContext(ctx), false
}

// startFromContext returns the request start time the server put in ctx, or 0.
func startFromContext(ctx context.Context) int64 {
	if ctx == nil {
		return 0
	}
	start, _ := ctx.Value(server.StartRequestContextKey).(int64)
	return start
}
