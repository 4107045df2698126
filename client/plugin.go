package client

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/internal/pluginset"
	"github.com/courier-rpc/courier/protocol"
)

// Plugin is any value implementing one or more of the hook interfaces below.
type Plugin interface{}

// Hook interfaces. A plugin implements those it needs; the container sorts
// plugins into one list per hook when they are added, so calls never
// type-assert plugins.
type (
	// PreCallPlugin runs before a call is sent; an error aborts the call.
	PreCallPlugin interface {
		PreCall(ctx context.Context, servicePath, serviceMethod string, args interface{}) error
	}
	// PostCallPlugin runs after a call completes, with its error.
	PostCallPlugin interface {
		PostCall(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, err error) error
	}
	// ConnCreatedPlugin can wrap or replace a new connection.
	ConnCreatedPlugin interface {
		ConnCreated(net.Conn) (net.Conn, error)
	}
	// ConnCreateFailedPlugin learns about failed dials.
	ConnCreateFailedPlugin interface {
		ConnCreateFailed(network, address string)
	}
	// ClientConnectedPlugin runs when a client is connected.
	ClientConnectedPlugin interface {
		ClientConnected(net.Conn) (net.Conn, error)
	}
	// ClientConnectionClosePlugin runs when a connection is closed.
	ClientConnectionClosePlugin interface {
		ClientConnectionClose(net.Conn) error
	}
	// ClientBeforeEncodePlugin sees each request before it is encoded.
	ClientBeforeEncodePlugin interface {
		ClientBeforeEncode(*protocol.Message) error
	}
	// ClientAfterDecodePlugin sees each response after it is decoded.
	ClientAfterDecodePlugin interface {
		ClientAfterDecode(*protocol.Message) error
	}
	// SelectNodePlugin wraps the selector's select function.
	SelectNodePlugin interface {
		WrapSelect(SelectFunc) SelectFunc
	}
)

// SelectFunc selects a server key ("network@address") for a call.
type SelectFunc func(ctx context.Context, servicePath, serviceMethod string, args interface{}) string

// PluginContainer holds client plugins and runs their hooks.
type PluginContainer interface {
	Add(plugin Plugin)
	Remove(plugin Plugin)
	All() []Plugin

	DoConnCreated(net.Conn) (net.Conn, error)
	DoConnCreateFailed(network, address string)
	DoClientConnected(net.Conn) (net.Conn, error)
	DoClientConnectionClose(net.Conn) error

	DoPreCall(ctx context.Context, servicePath, serviceMethod string, args interface{}) error
	DoPostCall(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, err error) error

	DoClientBeforeEncode(*protocol.Message) error
	DoClientAfterDecode(*protocol.Message) error

	DoWrapSelect(SelectFunc) SelectFunc
}

// hooks are the plugins sorted per hook, built once per Add or Remove.
type hooks struct {
	preCall          []PreCallPlugin
	postCall         []PostCallPlugin
	connCreated      []ConnCreatedPlugin
	connCreateFailed []ConnCreateFailedPlugin
	connected        []ClientConnectedPlugin
	connClose        []ClientConnectionClosePlugin
	beforeEncode     []ClientBeforeEncodePlugin
	afterDecode      []ClientAfterDecodePlugin
	wrapSelect       []SelectNodePlugin
	callObs          []CallObserverPlugin
	attemptObs       []AttemptObserverPlugin
}

// Build sorts all into the per-hook lists (pluginset calls it on Add and
// Remove).
func (h *hooks) Build(all []Plugin) {
	*h = hooks{
		preCall:          pluginset.Only[PreCallPlugin](all),
		postCall:         pluginset.Only[PostCallPlugin](all),
		connCreated:      pluginset.Only[ConnCreatedPlugin](all),
		connCreateFailed: pluginset.Only[ConnCreateFailedPlugin](all),
		connected:        pluginset.Only[ClientConnectedPlugin](all),
		connClose:        pluginset.Only[ClientConnectionClosePlugin](all),
		beforeEncode:     pluginset.Only[ClientBeforeEncodePlugin](all),
		afterDecode:      pluginset.Only[ClientAfterDecodePlugin](all),
		wrapSelect:       pluginset.Only[SelectNodePlugin](all),
		callObs:          pluginset.Only[CallObserverPlugin](all),
		attemptObs:       pluginset.Only[AttemptObserverPlugin](all),
	}
}

// pluginContainer is the default PluginContainer. Its Add, Remove
// (compared with ==) and All come from pluginset.Set: safe for concurrent
// use, and hooks run on an immutable snapshot (Hooks), so plugins may be
// added while calls are in flight.
type pluginContainer struct {
	pluginset.Set[Plugin, hooks, *hooks]
}

// NewPluginContainer returns an empty plugin container.
func NewPluginContainer() PluginContainer { return &pluginContainer{} }

// DoConnCreated runs ConnCreated hooks in order; each gets the previous result.
func (c *pluginContainer) DoConnCreated(conn net.Conn) (net.Conn, error) {
	var err error
	for _, p := range c.Hooks().connCreated {
		if conn, err = p.ConnCreated(conn); err != nil {
			return conn, err
		}
	}
	return conn, nil
}

// DoConnCreateFailed runs ConnCreateFailed hooks.
func (c *pluginContainer) DoConnCreateFailed(network, address string) {
	for _, p := range c.Hooks().connCreateFailed {
		p.ConnCreateFailed(network, address)
	}
}

// DoClientConnected runs ClientConnected hooks in order.
func (c *pluginContainer) DoClientConnected(conn net.Conn) (net.Conn, error) {
	var err error
	for _, p := range c.Hooks().connected {
		if conn, err = p.ClientConnected(conn); err != nil {
			return conn, err
		}
	}
	return conn, nil
}

// DoClientConnectionClose runs ClientConnectionClose hooks.
func (c *pluginContainer) DoClientConnectionClose(conn net.Conn) error {
	for _, p := range c.Hooks().connClose {
		if err := p.ClientConnectionClose(conn); err != nil {
			return err
		}
	}
	return nil
}

// DoPreCall runs PreCall hooks; the first error stops the call.
func (c *pluginContainer) DoPreCall(ctx context.Context, servicePath, serviceMethod string, args interface{}) error {
	for _, p := range c.Hooks().preCall {
		if err := p.PreCall(ctx, servicePath, serviceMethod, args); err != nil {
			return err
		}
	}
	return nil
}

// DoPostCall runs PostCall hooks.
func (c *pluginContainer) DoPostCall(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, err error) error {
	for _, p := range c.Hooks().postCall {
		if e := p.PostCall(ctx, servicePath, serviceMethod, args, reply, err); e != nil {
			return e
		}
	}
	return nil
}

// DoClientBeforeEncode runs ClientBeforeEncode hooks.
func (c *pluginContainer) DoClientBeforeEncode(m *protocol.Message) error {
	for _, p := range c.Hooks().beforeEncode {
		if err := p.ClientBeforeEncode(m); err != nil {
			return err
		}
	}
	return nil
}

// DoClientAfterDecode runs ClientAfterDecode hooks.
func (c *pluginContainer) DoClientAfterDecode(m *protocol.Message) error {
	for _, p := range c.Hooks().afterDecode {
		if err := p.ClientAfterDecode(m); err != nil {
			return err
		}
	}
	return nil
}

// DoWrapSelect wraps fn with every SelectNodePlugin, in order.
func (c *pluginContainer) DoWrapSelect(fn SelectFunc) SelectFunc {
	for _, p := range c.Hooks().wrapSelect {
		fn = p.WrapSelect(fn)
	}
	return fn
}
