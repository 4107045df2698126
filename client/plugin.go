package client

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

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

// hooks is an immutable snapshot of the plugins sorted per hook.
type hooks struct {
	all              []Plugin
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

func buildHooks(all []Plugin) *hooks {
	h := &hooks{all: all}
	for _, p := range all {
		if x, ok := p.(PreCallPlugin); ok {
			h.preCall = append(h.preCall, x)
		}
		if x, ok := p.(PostCallPlugin); ok {
			h.postCall = append(h.postCall, x)
		}
		if x, ok := p.(ConnCreatedPlugin); ok {
			h.connCreated = append(h.connCreated, x)
		}
		if x, ok := p.(ConnCreateFailedPlugin); ok {
			h.connCreateFailed = append(h.connCreateFailed, x)
		}
		if x, ok := p.(ClientConnectedPlugin); ok {
			h.connected = append(h.connected, x)
		}
		if x, ok := p.(ClientConnectionClosePlugin); ok {
			h.connClose = append(h.connClose, x)
		}
		if x, ok := p.(ClientBeforeEncodePlugin); ok {
			h.beforeEncode = append(h.beforeEncode, x)
		}
		if x, ok := p.(ClientAfterDecodePlugin); ok {
			h.afterDecode = append(h.afterDecode, x)
		}
		if x, ok := p.(SelectNodePlugin); ok {
			h.wrapSelect = append(h.wrapSelect, x)
		}
		if x, ok := p.(CallObserverPlugin); ok {
			h.callObs = append(h.callObs, x)
		}
		if x, ok := p.(AttemptObserverPlugin); ok {
			h.attemptObs = append(h.attemptObs, x)
		}
	}
	return h
}

// pluginContainer is the default PluginContainer. Add and Remove swap an
// immutable snapshot, so hooks run without locks and plugins may be added
// while calls are in flight.
type pluginContainer struct {
	mu sync.Mutex
	h  atomic.Pointer[hooks]
}

// NewPluginContainer returns an empty plugin container.
func NewPluginContainer() PluginContainer {
	c := &pluginContainer{}
	c.h.Store(&hooks{})
	return c
}

func (c *pluginContainer) load() *hooks {
	if h := c.h.Load(); h != nil {
		return h
	}
	return &hooks{}
}

// Add adds a plugin.
func (c *pluginContainer) Add(plugin Plugin) {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := append(append([]Plugin(nil), c.load().all...), plugin)
	c.h.Store(buildHooks(all))
}

// Remove removes a plugin (compared with ==).
func (c *pluginContainer) Remove(plugin Plugin) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var all []Plugin
	for _, p := range c.load().all {
		if p != plugin {
			all = append(all, p)
		}
	}
	c.h.Store(buildHooks(all))
}

// All returns the plugins in the order they were added.
func (c *pluginContainer) All() []Plugin { return append([]Plugin(nil), c.load().all...) }

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
