package server

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/protocol"
)

// CallObserverPlugin observes every call the server dispatches over the
// rpcx protocol (also through HTTP CONNECT and WebSocket), oneway calls and
// routes added with AddHandler included; heartbeats are not calls. It is
// the hook of tracing, metrics and access-log plugins (serverplugin/otel,
// serverplugin/prometheus, serverplugin/accesslog). Both methods run on the
// goroutine that serves the call and must be safe for concurrent use.
type CallObserverPlugin interface {
	// StartCall runs when a request is about to be dispatched, before
	// AuthFunc and the PreHandleRequest hooks. ctx is the parent of the
	// call's ctx; the ctx StartCall returns (ctx itself, or one derived
	// from it) becomes that parent, so values it adds (a span) reach the
	// handler. For the data phase of a file transfer or stream, ctx is the
	// ctx the observers returned for its token call, without its
	// cancellation (so a span there is the data phase's parent). conn is the connection the request came on; req is valid
	// only during the call and must not be modified.
	StartCall(ctx context.Context, conn net.Conn, req *protocol.Message) context.Context
	// EndCall runs once per StartCall when the call's outcome is known:
	// res is the response about to be written (nil for a oneway call and
	// for AddHandler routes, which write their own), err the call's error
	// (nil on success). ctx is the call's ctx. Neither message may be kept
	// or modified.
	EndCall(ctx context.Context, req, res *protocol.Message, err error)
}

// observers returns the server's call observers, nil when there are none.
// The default container answers from its per-hook snapshot; a custom
// container's plugins are type-asserted.
func (s *Server) observers() []CallObserverPlugin {
	if pc, ok := s.Plugins.(*pluginContainer); ok {
		return pc.Hooks().observe
	}
	var out []CallObserverPlugin
	for _, p := range s.Plugins.All() {
		if o, ok := p.(CallObserverPlugin); ok {
			out = append(out, o)
		}
	}
	return out
}

// startCall runs the StartCall hooks in order; each gets the ctx the
// previous one returned.
func startCall(obs []CallObserverPlugin, ctx context.Context, nc net.Conn, req *protocol.Message) context.Context {
	for _, o := range obs {
		if c := o.StartCall(ctx, nc, req); c != nil {
			ctx = c
		}
	}
	return ctx
}

// endCall runs the EndCall hooks in reverse order (the last started ends
// first, as deferred calls do).
func endCall(obs []CallObserverPlugin, ctx context.Context, req, res *protocol.Message, err error) {
	for i := len(obs) - 1; i >= 0; i-- {
		obs[i].EndCall(ctx, req, res, err)
	}
}
