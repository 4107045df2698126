package server

import (
	"context"
	"errors"
	"maps"
	"net"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// errDataHandlerPanicked is the outcome the call observers get for the data
// phase of a transfer or stream whose handler panicked.
var errDataHandlerPanicked = errors.New("server: data handler panicked")

// dataObs is how a FileTransfer or StreamService runs its Server's
// CallObserverPlugins around the data phase of each transfer or stream
// (set by EnableFileTransfer / EnableStreamService): the observers see it
// as a call of method "<token call's method>.data" of the service, on the
// data connection, with the token call's request metadata, so that a
// trace started by the client continues into it, and with the ctx the
// observers made for the token call as its parent (its values, not its
// cancellation), so that the data phase's span is a child of the token
// call's span.
type dataObs struct {
	observers func() []CallObserverPlugin
	service   string
}

// observedToken is a token's value with what the observers need of the
// token call.
type observedToken struct {
	val    any
	method string
	meta   map[string]string // a copy of the token call's request metadata
	parent context.Context   // the observers' ctx of the token call, uncancelled; nil: none
}

// observe makes d run the observers of obs around its handlers.
func (d *dataServer) observe(obs func() []CallObserverPlugin, service string) {
	d.obs.Store(&dataObs{observers: obs, service: service})
}

// tokenValue returns val for newToken: with the token call's method and
// metadata (from ctx) when there are observers to see the data phase.
func (d *dataServer) tokenValue(ctx context.Context, method string, val any) any {
	o := d.obs.Load()
	if o == nil || o.observers() == nil {
		return val
	}
	md, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	ot := observedToken{val: val, method: method + ".data", meta: maps.Clone(md)}
	if rc, ok := ctx.(*reqCtx); ok { // its parent is what StartCall returned, nothing of the request's own
		ot.parent = context.WithoutCancel(rc.src.ctx)
	}
	return ot
}

// run runs the handler of a token's value, between the observers'
// StartCall and EndCall when the value carries what they need.
func (d *dataServer) run(c net.Conn, val any) {
	ot, ok := val.(observedToken)
	if !ok {
		d.handle(c, val)
		return
	}
	o := d.obs.Load()
	obs := o.observers()
	if obs == nil {
		d.handle(c, ot.val)
		return
	}
	req := protocol.NewMessage()
	req.SetMessageType(protocol.Request)
	req.ServicePath, req.ServiceMethod, req.Metadata = o.service, ot.method, ot.meta
	parent := ot.parent
	if parent == nil {
		parent = context.Background()
	}
	ctx := startCall(obs, parent, c, req)
	err := errDataHandlerPanicked // unless the handler returns
	defer func() { endCall(obs, ctx, req, nil, err) }()
	d.handle(c, ot.val)
	err = nil
}
