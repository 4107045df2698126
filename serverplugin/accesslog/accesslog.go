// Package accesslog is a server plugin that logs one line per call with
// log/slog: method ("Service/Method"), code, duration, peer, request and
// response payload bytes, and the trace id when the call is traced
// (serverplugin/otel before it in the plugin list). Every failed call is
// logged; successes are sampled. Nothing is logged unless the plugin is
// added to a server.
//
//	s.Plugins.Add(accesslog.New(slog.Default(), accesslog.WithSuccessSample(0.01)))
package accesslog

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
	"go.opentelemetry.io/otel/trace"
)

// Option configures New.
type Option func(*Plugin)

// WithSuccessSample logs successful calls with probability rate (0: none,
// 1: all). Default 1. Failed calls are always logged.
func WithSuccessSample(rate float64) Option {
	return func(p *Plugin) { p.sample = min(max(rate, 0), 1) }
}

// WithLevels sets the levels of success and error lines. Default Info and
// Warn.
func WithLevels(success, failure slog.Level) Option {
	return func(p *Plugin) { p.okLevel, p.errLevel = success, failure }
}

// Plugin is the access-log plugin (a server.CallObserverPlugin). Safe for
// concurrent use.
type Plugin struct {
	log      *slog.Logger
	sample   float64
	okLevel  slog.Level
	errLevel slog.Level
}

// New returns a plugin writing to logger (slog.Default() when nil).
func New(logger *slog.Logger, opts ...Option) *Plugin {
	if logger == nil {
		logger = slog.Default()
	}
	p := &Plugin{log: logger, sample: 1, okLevel: slog.LevelInfo, errLevel: slog.LevelWarn}
	for _, o := range opts {
		o(p)
	}
	return p
}

type startKey struct{}

type callStart struct {
	at   time.Time
	peer string
}

// StartCall notes the start time and the peer.
func (p *Plugin) StartCall(ctx context.Context, conn net.Conn, _ *protocol.Message) context.Context {
	st := callStart{at: time.Now()}
	if conn != nil {
		st.peer = conn.RemoteAddr().String()
	}
	return context.WithValue(ctx, startKey{}, st)
}

// EndCall writes the call's line, unless it is a success left out by
// sampling.
func (p *Plugin) EndCall(ctx context.Context, req, res *protocol.Message, err error) {
	level := p.okLevel
	if err != nil {
		level = p.errLevel
	} else if p.sample < 1 && (p.sample == 0 || rand.Float64() >= p.sample) {
		return
	}
	if !p.log.Enabled(ctx, level) {
		return
	}
	st, _ := ctx.Value(startKey{}).(callStart)
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("method", rpcobs.Method(req.ServicePath, req.ServiceMethod)),
		slog.String("code", rpcobs.StatusName(share.CodeOf(err))),
		slog.Duration("duration", time.Since(st.at)),
		slog.String("peer", st.peer),
		slog.Int("req_bytes", len(req.Payload)),
	)
	if res != nil {
		attrs = append(attrs, slog.Int("res_bytes", len(res.Payload)))
	} else {
		attrs = append(attrs, slog.Bool("oneway", req.IsOneway()))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	p.log.LogAttrs(ctx, level, "rpc call", attrs...)
}

var _ server.CallObserverPlugin = (*Plugin)(nil)
