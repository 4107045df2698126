package server

import (
	"context"
	"net"
	"net/http"

	"github.com/courier-rpc/courier/errors"
	"github.com/courier-rpc/courier/internal/pluginset"
	"github.com/courier-rpc/courier/protocol"
)

// Plugin is any value implementing one or more of the hook interfaces of
// this package.
type Plugin interface{}

// Param is one URL parameter of an HTTP route (the shape of httprouter's
// Param, which courier does not import).
type Param struct {
	Key   string
	Value string
}

// Params holds the URL parameters of an HTTP route, in order.
type Params []Param

// ByName returns the value of the first parameter named name, or "".
func (ps Params) ByName(name string) string {
	for _, p := range ps {
		if p.Key == name {
			return p.Value
		}
	}
	return ""
}

// PluginContainer holds server plugins and runs their hooks. rpcx's
// MuxMatch(cmux.CMux) method and CMuxPlugin interface are left out: courier
// does not depend on github.com/soheilhy/cmux; it tells protocols apart by
// sniffing the first byte of each connection itself.
type PluginContainer interface {
	Add(plugin Plugin)
	Remove(plugin Plugin)
	All() []Plugin

	DoRegister(name string, rcvr interface{}, metadata string) error
	DoRegisterFunction(serviceName, fname string, fn interface{}, metadata string) error
	DoUnregister(name string) error

	DoPostConnAccept(net.Conn) (net.Conn, bool)
	DoPostConnClose(net.Conn) bool

	DoPreReadRequest(ctx context.Context) error
	DoPostReadRequest(ctx context.Context, r *protocol.Message, e error) error
	DoPostHTTPRequest(ctx context.Context, r *http.Request, params Params) error

	DoPreHandleRequest(ctx context.Context, req *protocol.Message) error
	DoPreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error)
	DoPostCall(ctx context.Context, serviceName, methodName string, args, reply interface{}, err error) (interface{}, error)

	DoPreWriteResponse(context.Context, *protocol.Message, *protocol.Message, error) error
	DoPostWriteResponse(context.Context, *protocol.Message, *protocol.Message, error) error

	DoPreWriteRequest(ctx context.Context) error
	DoPostWriteRequest(ctx context.Context, r *protocol.Message, e error) error

	DoHeartbeatRequest(ctx context.Context, req *protocol.Message) error
}

// Hook interfaces. A plugin implements those it needs.
type (
	// RegisterPlugin learns about registered and unregistered services.
	RegisterPlugin interface {
		Register(name string, rcvr interface{}, metadata string) error
		Unregister(name string) error
	}
	// RegisterFunctionPlugin learns about registered functions.
	RegisterFunctionPlugin interface {
		RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error
	}
	// PostConnAcceptPlugin sees each accepted connection and may wrap it;
	// returning false closes the connection and stops the chain.
	PostConnAcceptPlugin interface {
		HandleConnAccept(net.Conn) (net.Conn, bool)
	}
	// PostConnClosePlugin runs when a connection is closed.
	PostConnClosePlugin interface {
		HandleConnClose(net.Conn) bool
	}
	// PreReadRequestPlugin runs before each frame is read; an error closes
	// the connection, except ErrReqReachLimit, which answers the next
	// request with that error.
	PreReadRequestPlugin interface {
		PreReadRequest(ctx context.Context) error
	}
	// PostReadRequestPlugin runs after each frame is read; an error answers
	// the request with it.
	PostReadRequestPlugin interface {
		PostReadRequest(ctx context.Context, r *protocol.Message, e error) error
	}
	// PostHTTPRequestPlugin runs after an HTTP gateway request is read.
	PostHTTPRequestPlugin interface {
		PostHTTPRequest(ctx context.Context, r *http.Request, params Params) error
	}
	// PreHandleRequestPlugin runs before a request is dispatched; an error
	// answers the request with it.
	PreHandleRequestPlugin interface {
		PreHandleRequest(ctx context.Context, r *protocol.Message) error
	}
	// PreCallPlugin runs before a method is called and may replace args.
	PreCallPlugin interface {
		PreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error)
	}
	// PostCallPlugin runs after a method returns and may replace reply.
	PostCallPlugin interface {
		PostCall(ctx context.Context, serviceName, methodName string, args, reply interface{}, err error) (interface{}, error)
	}
	// PreWriteResponsePlugin runs before a response is queued for writing.
	PreWriteResponsePlugin interface {
		PreWriteResponse(context.Context, *protocol.Message, *protocol.Message, error) error
	}
	// PostWriteResponsePlugin runs after a response was written.
	PostWriteResponsePlugin interface {
		PostWriteResponse(context.Context, *protocol.Message, *protocol.Message, error) error
	}
	// PreWriteRequestPlugin runs before a notification is sent.
	PreWriteRequestPlugin interface {
		PreWriteRequest(ctx context.Context) error
	}
	// PostWriteRequestPlugin runs after a notification was queued.
	PostWriteRequestPlugin interface {
		PostWriteRequest(ctx context.Context, r *protocol.Message, e error) error
	}
	// HeartbeatPlugin sees each heartbeat request.
	HeartbeatPlugin interface {
		HeartbeatRequest(ctx context.Context, req *protocol.Message) error
	}
)

// hooks are the plugins sorted per hook, built once per Add or Remove.
type hooks struct {
	register      []RegisterPlugin
	registerFn    []RegisterFunctionPlugin
	connAccept    []PostConnAcceptPlugin
	connClose     []PostConnClosePlugin
	preRead       []PreReadRequestPlugin
	postRead      []PostReadRequestPlugin
	postHTTP      []PostHTTPRequestPlugin
	preHandle     []PreHandleRequestPlugin
	preCall       []PreCallPlugin
	postCall      []PostCallPlugin
	preWriteResp  []PreWriteResponsePlugin
	postWriteResp []PostWriteResponsePlugin
	preWriteReq   []PreWriteRequestPlugin
	postWriteReq  []PostWriteRequestPlugin
	heartbeat     []HeartbeatPlugin
	observe       []CallObserverPlugin
}

// Build sorts all into the per-hook lists (pluginset calls it on Add and
// Remove).
func (h *hooks) Build(all []Plugin) {
	*h = hooks{
		register:      pluginset.Only[RegisterPlugin](all),
		registerFn:    pluginset.Only[RegisterFunctionPlugin](all),
		connAccept:    pluginset.Only[PostConnAcceptPlugin](all),
		connClose:     pluginset.Only[PostConnClosePlugin](all),
		preRead:       pluginset.Only[PreReadRequestPlugin](all),
		postRead:      pluginset.Only[PostReadRequestPlugin](all),
		postHTTP:      pluginset.Only[PostHTTPRequestPlugin](all),
		preHandle:     pluginset.Only[PreHandleRequestPlugin](all),
		preCall:       pluginset.Only[PreCallPlugin](all),
		postCall:      pluginset.Only[PostCallPlugin](all),
		preWriteResp:  pluginset.Only[PreWriteResponsePlugin](all),
		postWriteResp: pluginset.Only[PostWriteResponsePlugin](all),
		preWriteReq:   pluginset.Only[PreWriteRequestPlugin](all),
		postWriteReq:  pluginset.Only[PostWriteRequestPlugin](all),
		heartbeat:     pluginset.Only[HeartbeatPlugin](all),
		observe:       pluginset.Only[CallObserverPlugin](all),
	}
}

// pluginContainer is the default PluginContainer. Its Add, Remove
// (compared with ==) and All come from pluginset.Set: safe for concurrent
// use, and hooks run on an immutable snapshot (Hooks), so plugins may be
// added while requests are served.
type pluginContainer struct {
	pluginset.Set[Plugin, hooks, *hooks]
}

// NewPluginContainer returns an empty plugin container, the one NewServer
// puts in Server.Plugins.
func NewPluginContainer() PluginContainer { return &pluginContainer{} }

// DoRegister runs every RegisterPlugin's Register and returns their errors
// as an *errors.MultiError.
func (c *pluginContainer) DoRegister(name string, rcvr interface{}, metadata string) error {
	var es []error
	for _, p := range c.Hooks().register {
		if err := p.Register(name, rcvr, metadata); err != nil {
			es = append(es, err)
		}
	}
	return multi(es)
}

// DoRegisterFunction runs every RegisterFunctionPlugin.
func (c *pluginContainer) DoRegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	var es []error
	for _, p := range c.Hooks().registerFn {
		if err := p.RegisterFunction(serviceName, fname, fn, metadata); err != nil {
			es = append(es, err)
		}
	}
	return multi(es)
}

// DoUnregister runs every RegisterPlugin's Unregister.
func (c *pluginContainer) DoUnregister(name string) error {
	var es []error
	for _, p := range c.Hooks().register {
		if err := p.Unregister(name); err != nil {
			es = append(es, err)
		}
	}
	return multi(es)
}

func multi(es []error) error {
	if len(es) == 0 {
		return nil
	}
	return errors.NewMultiError(es)
}

// DoPostConnAccept runs HandleConnAccept hooks in order, each getting the
// previous one's connection; false stops the chain and refuses the conn.
func (c *pluginContainer) DoPostConnAccept(conn net.Conn) (net.Conn, bool) {
	for _, p := range c.Hooks().connAccept {
		var ok bool
		if conn, ok = p.HandleConnAccept(conn); !ok {
			return conn, false
		}
	}
	return conn, true
}

// DoPostConnClose runs HandleConnClose hooks; false stops the chain.
func (c *pluginContainer) DoPostConnClose(conn net.Conn) bool {
	for _, p := range c.Hooks().connClose {
		if !p.HandleConnClose(conn) {
			return false
		}
	}
	return true
}

// DoPreReadRequest runs PreReadRequest hooks; the first error stops them.
func (c *pluginContainer) DoPreReadRequest(ctx context.Context) error {
	for _, p := range c.Hooks().preRead {
		if err := p.PreReadRequest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// DoPostReadRequest runs PostReadRequest hooks; the first error stops them.
func (c *pluginContainer) DoPostReadRequest(ctx context.Context, r *protocol.Message, e error) error {
	for _, p := range c.Hooks().postRead {
		if err := p.PostReadRequest(ctx, r, e); err != nil {
			return err
		}
	}
	return nil
}

// DoPostHTTPRequest runs PostHTTPRequest hooks; the first error stops them.
func (c *pluginContainer) DoPostHTTPRequest(ctx context.Context, r *http.Request, params Params) error {
	for _, p := range c.Hooks().postHTTP {
		if err := p.PostHTTPRequest(ctx, r, params); err != nil {
			return err
		}
	}
	return nil
}

// DoPreHandleRequest runs PreHandleRequest hooks; the first error stops them.
func (c *pluginContainer) DoPreHandleRequest(ctx context.Context, req *protocol.Message) error {
	for _, p := range c.Hooks().preHandle {
		if err := p.PreHandleRequest(ctx, req); err != nil {
			return err
		}
	}
	return nil
}

// DoPreCall runs PreCall hooks, each getting the args the previous one
// returned; the first error stops them.
func (c *pluginContainer) DoPreCall(ctx context.Context, serviceName, methodName string, args interface{}) (interface{}, error) {
	var err error
	for _, p := range c.Hooks().preCall {
		if args, err = p.PreCall(ctx, serviceName, methodName, args); err != nil {
			return args, err
		}
	}
	return args, nil
}

// DoPostCall runs PostCall hooks, each getting the reply the previous one
// returned and the method's error; the first hook error stops them and is
// returned.
func (c *pluginContainer) DoPostCall(ctx context.Context, serviceName, methodName string, args, reply interface{}, err error) (interface{}, error) {
	var e error
	for _, p := range c.Hooks().postCall {
		if reply, e = p.PostCall(ctx, serviceName, methodName, args, reply, err); e != nil {
			return reply, e
		}
	}
	return reply, nil
}

// DoPreWriteResponse runs PreWriteResponse hooks; the first error stops them.
func (c *pluginContainer) DoPreWriteResponse(ctx context.Context, req *protocol.Message, res *protocol.Message, e error) error {
	for _, p := range c.Hooks().preWriteResp {
		if err := p.PreWriteResponse(ctx, req, res, e); err != nil {
			return err
		}
	}
	return nil
}

// DoPostWriteResponse runs PostWriteResponse hooks; the first error stops them.
func (c *pluginContainer) DoPostWriteResponse(ctx context.Context, req *protocol.Message, res *protocol.Message, e error) error {
	for _, p := range c.Hooks().postWriteResp {
		if err := p.PostWriteResponse(ctx, req, res, e); err != nil {
			return err
		}
	}
	return nil
}

// DoPreWriteRequest runs PreWriteRequest hooks; the first error stops them.
func (c *pluginContainer) DoPreWriteRequest(ctx context.Context) error {
	for _, p := range c.Hooks().preWriteReq {
		if err := p.PreWriteRequest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// DoPostWriteRequest runs PostWriteRequest hooks; the first error stops them.
func (c *pluginContainer) DoPostWriteRequest(ctx context.Context, r *protocol.Message, e error) error {
	for _, p := range c.Hooks().postWriteReq {
		if err := p.PostWriteRequest(ctx, r, e); err != nil {
			return err
		}
	}
	return nil
}

// DoHeartbeatRequest runs HeartbeatRequest hooks; the first error stops them.
func (c *pluginContainer) DoHeartbeatRequest(ctx context.Context, req *protocol.Message) error {
	for _, p := range c.Hooks().heartbeat {
		if err := p.HeartbeatRequest(ctx, req); err != nil {
			return err
		}
	}
	return nil
}
