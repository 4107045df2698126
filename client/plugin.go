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

func buildHooks(all []Plugin) hooks {
	return hooks{
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

var emptyHooks = &hooks{}

// pluginContainer is the default PluginContainer (see package pluginset:
// hooks run on an immutable snapshot, so plugins may be added while calls
// are in flight).
type pluginContainer struct {
	set pluginset.Set[Plugin, hooks]
}

// NewPluginContainer returns an empty plugin container.
func NewPluginContainer() PluginContainer { return &pluginContainer{} }

func (c *pluginContainer) load() *hooks {
	if h := c.set.Hooks(); h != nil {
		return h
	}
	return emptyHooks
}

// Add adds a plugin. It is safe for concurrent use.
func (c *pluginContainer) Add(plugin Plugin) { c.set.Add(plugin, buildHooks) }

// Remove removes a plugin (compared with ==). It is safe for concurrent use.
func (c *pluginContainer) Remove(plugin Plugin) { c.set.Remove(plugin, buildHooks) }

// All returns the plugins in the order they were added.
func (c *pluginContainer) All() []Plugin { return c.set.All() }

// DoConnCreated runs ConnCreated hooks in order; each gets the previous result.
func (c *pluginContainer) DoConnCreated(conn net.Conn) (net.Conn, error) {
	var err error
	for _, p := range c.load().connCreated {
		if conn, err = p.ConnCreated(conn); err != nil {
			return conn, err
		}
	}
	return conn, nil
}

// DoConnCreateFailed runs ConnCreateFailed hooks.
func (c *pluginContainer) DoConnCreateFailed(network, address string) {
	for _, p := range c.load().connCreateFailed {
		p.ConnCreateFailed(network, address)
	}
}

// DoClientConnected runs ClientConnected hooks in order.
func (c *pluginContainer) DoClientConnected(conn net.Conn) (net.Conn, error) {
	var err error
	for _, p := range c.load().connected {
		if conn, err = p.ClientConnected(conn); err != nil {
			return conn, err
		}
	}
	return conn, nil
}

// DoClientConnectionClose runs ClientConnectionClose hooks.
func (c *pluginContainer) DoClientConnectionClose(conn net.Conn) error {
	for _, p := range c.load().connClose {
		if err := p.ClientConnectionClose(conn); err != nil {
			return err
		}
	}
	return nil
}

// DoPreCall runs PreCall hooks; the first error stops the call.
func (c *pluginContainer) DoPreCall(ctx context.Context, servicePath, serviceMethod string, args interface{}) error {
	for _, p := range c.load().preCall {
		if err := p.PreCall(ctx, servicePath, serviceMethod, args); err != nil {
			return err
		}
	}
	return nil
}

// DoPostCall runs PostCall hooks.
func (c *pluginContainer) DoPostCall(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, err error) error {
	for _, p := range c.load().postCall {
		if e := p.PostCall(ctx, servicePath, serviceMethod, args, reply, err); e != nil {
			return e
		}
	}
	return nil
}

// DoClientBeforeEncode runs ClientBeforeEncode hooks.
func (c *pluginContainer) DoClientBeforeEncode(m *protocol.Message) error {
	for _, p := range c.load().beforeEncode {
		if err := p.ClientBeforeEncode(m); err != nil {
			return err
		}
	}
	return nil
}

// DoClientAfterDecode runs ClientAfterDecode hooks.
func (c *pluginContainer) DoClientAfterDecode(m *protocol.Message) error {
	for _, p := range c.load().afterDecode {
		if err := p.ClientAfterDecode(m); err != nil {
			return err
		}
	}
	return nil
}

// DoWrapSelect wraps fn with every SelectNodePlugin, in order.
func (c *pluginContainer) DoWrapSelect(fn SelectFunc) SelectFunc {
	for _, p := range c.load().wrapSelect {
		fn = p.WrapSelect(fn)
	}
	return fn
}
