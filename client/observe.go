package client

import (
	"context"

	"github.com/courier-rpc/courier/protocol"
)

// CallKind tells what an XClient operation observed by a CallObserverPlugin
// is.
type CallKind uint8

// Kinds of observed XClient operations.
const (
	// KindCall is Call (and Go, which runs Call).
	KindCall CallKind = iota
	// KindOneway is Oneshot: a oneway request to one server.
	KindOneway
	// KindBroadcast is Broadcast.
	KindBroadcast
	// KindFork is Fork.
	KindFork
	// KindInform is Inform.
	KindInform
	// KindSendFile is SendFile: the TransferFile call (observed on its
	// own as a KindCall inside) and the upload.
	KindSendFile
	// KindDownloadFile is DownloadFile: the DownloadFile call and the
	// download.
	KindDownloadFile
	// KindStream is Stream: the Stream call and the data connection's
	// setup (the caller uses the connection afterwards, unobserved).
	KindStream
)

var kindNames = [...]string{"call", "oneway", "broadcast", "fork", "inform", "send_file", "download_file", "stream"}

// String returns the kind's lower-case name.
func (k CallKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// CallInfo describes one XClient operation for a CallObserverPlugin. It is
// valid only during the StartCall and EndCall that receive it.
type CallInfo struct {
	ServicePath   string
	ServiceMethod string
	Kind          CallKind
	FailMode      FailMode
}

// CallObserverPlugin observes whole XClient operations (Call, Go, Oneshot,
// Broadcast, Fork, Inform, and SendFile, DownloadFile and Stream around
// their own Call), however many attempts or servers they take;
// each attempt on a connection is seen by AttemptObserverPlugin. It is the
// hook of tracing and metrics plugins (clientplugin/otel). Methods must be
// safe for concurrent use.
type CallObserverPlugin interface {
	// StartCall runs first; the ctx it returns (ctx or one derived from
	// it, e.g. carrying a span) is the ctx of the operation and of its
	// attempts.
	StartCall(ctx context.Context, info *CallInfo) context.Context
	// EndCall runs once per StartCall with the ctx StartCall returned and
	// the operation's error.
	EndCall(ctx context.Context, info *CallInfo, err error)
}

// AttemptObserverPlugin observes each request a Client sends with Call or
// SendRaw (every attempt of an XClient call goes through one): from just
// before it is sent to its response or failure. Methods must be safe for
// concurrent use.
type AttemptObserverPlugin interface {
	// StartAttempt runs before req is sent to remoteAddr (host:port). It
	// may add request metadata (trace context) by giving req.Metadata a
	// NEW map holding the old entries and its own: the old map may be the
	// caller's and must not be modified. The ctx it returns is the one
	// EndAttempt gets.
	StartAttempt(ctx context.Context, req *protocol.Message, remoteAddr string) context.Context
	// EndAttempt runs once per StartAttempt with the response (nil for a
	// oneway request or when none came) and the attempt's error. res is
	// valid only during the call.
	EndAttempt(ctx context.Context, res *protocol.Message, err error)
}

// BreakerObserverPlugin hears of an XClient's circuit breakers (with
// Option.GenBreaker): BreakerStateChanged(servicePath, server, true) when
// the breaker of server (its discovery key, "tcp@host:port") opens — it
// tripped, or re-opened after its half-open trial — and (..., false) when
// it lets calls through again. It runs on the goroutine of the attempt
// that saw the change and must be quick and safe for concurrent use (the
// metric of clientplugin/otel).
type BreakerObserverPlugin interface {
	BreakerStateChanged(servicePath, server string, open bool)
}

// hooksOf returns pc's per-hook snapshot: nil for a nil container or one
// of another package, whose plugins must be asked one by one. It runs
// several times per call: this package's two containers are told apart by
// concrete type (a compare), not by an interface assertion (a lookup).
func hooksOf(pc PluginContainer) *hooks {
	switch c := pc.(type) {
	case *pluginContainer:
		return c.Hooks()
	case *connPlugins:
		return hooksOf(c.c()) // the XClient's current container
	}
	return nil
}

// hasBeforeEncode reports whether pc may have ClientBeforeEncode hooks
// (a container of another package is always asked).
func hasBeforeEncode(pc PluginContainer) bool {
	if pc == nil {
		return false
	}
	h := hooksOf(pc)
	return h == nil || len(h.beforeEncode) > 0
}

// hasAfterDecode reports whether pc may have ClientAfterDecode hooks.
func hasAfterDecode(pc PluginContainer) bool {
	if pc == nil {
		return false
	}
	h := hooksOf(pc)
	return h == nil || len(h.afterDecode) > 0
}

// callObserversOf returns the CallObserverPlugins of pc (nil: none).
func callObserversOf(pc PluginContainer) []CallObserverPlugin {
	if pc == nil {
		return nil
	}
	if h := hooksOf(pc); h != nil {
		return h.callObs
	}
	var out []CallObserverPlugin
	for _, p := range pc.All() {
		if o, ok := p.(CallObserverPlugin); ok {
			out = append(out, o)
		}
	}
	return out
}

// attemptObserversOf returns the AttemptObserverPlugins of pc (nil: none).
func attemptObserversOf(pc PluginContainer) []AttemptObserverPlugin {
	if pc == nil {
		return nil
	}
	if h := hooksOf(pc); h != nil {
		return h.attemptObs
	}
	var out []AttemptObserverPlugin
	for _, p := range pc.All() {
		if o, ok := p.(AttemptObserverPlugin); ok {
			out = append(out, o)
		}
	}
	return out
}

// observedCall is one XClient operation under observation; nil (no
// observers, so nothing is allocated per call) does nothing.
type observedCall struct {
	obs  []CallObserverPlugin
	info CallInfo
}

// startObservedCall runs the StartCall hooks of x's plugins and returns the
// operation's ctx.
func (x *xClient) startObservedCall(ctx context.Context, method string, kind CallKind) (context.Context, *observedCall) {
	obs := callObserversOf(x.GetPlugins())
	if obs == nil {
		return ctx, nil
	}
	oc := &observedCall{obs: obs, info: CallInfo{ServicePath: x.servicePath, ServiceMethod: method, Kind: kind, FailMode: x.failMode}}
	for _, o := range obs {
		if c := o.StartCall(ctx, &oc.info); c != nil {
			ctx = c
		}
	}
	return ctx, oc
}

// end runs the EndCall hooks in reverse order.
func (oc *observedCall) end(ctx context.Context, err error) {
	if oc == nil {
		return
	}
	for i := len(oc.obs) - 1; i >= 0; i-- {
		oc.obs[i].EndCall(ctx, &oc.info, err)
	}
}

// startAttempt runs the StartAttempt hooks of client's plugins for m;
// obs is nil when there are none.
func (client *Client) startAttempt(ctx context.Context, m *protocol.Message) (context.Context, []AttemptObserverPlugin) {
	obs := attemptObserversOf(client.Plugins)
	if obs == nil {
		return ctx, nil
	}
	addr := client.remote // set when the connection started: no formatting per call
	if addr == "" {
		addr = client.RemoteAddr()
	}
	for _, o := range obs {
		if c := o.StartAttempt(ctx, m, addr); c != nil {
			ctx = c
		}
	}
	return ctx, obs
}

// endAttempt runs the EndAttempt hooks in reverse order.
func endAttempt(obs []AttemptObserverPlugin, ctx context.Context, res *protocol.Message, err error) {
	for i := len(obs) - 1; i >= 0; i-- {
		obs[i].EndAttempt(ctx, res, err)
	}
}
