package client

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/util"
)

// dial makes a connected client for key. Its plugins are the XClient's
// current container; the ClientConnected hook first hands the client to
// the cache, so a hook that calls back into this XClient finds it.
func (x *xClient) dial(key string, published func(RPCClient)) (RPCClient, error) {
	network, address := util.SplitNetworkAddress(key)
	p := &connPlugins{x: x}
	cl := x.newClient(x.option, p)
	p.connected = func() { published(cl) }
	if x.msgChan != nil {
		cl.RegisterServerMessageChan(x.msgChan)
	}
	if err := cl.Connect(network, address); err != nil {
		_ = cl.Close()
		return nil, err
	}
	return cl, nil
}

// connPlugins is the plugin container of an XClient's connections: it
// delegates to the XClient's container of the moment.
type connPlugins struct {
	x         *xClient
	connected func()
}

func (p *connPlugins) c() PluginContainer   { return p.x.GetPlugins() }
func (p *connPlugins) Add(plugin Plugin)    { p.c().Add(plugin) }
func (p *connPlugins) Remove(plugin Plugin) { p.c().Remove(plugin) }
func (p *connPlugins) All() []Plugin        { return p.c().All() }

func (p *connPlugins) DoConnCreated(conn net.Conn) (net.Conn, error) {
	return p.c().DoConnCreated(conn)
}

func (p *connPlugins) DoConnCreateFailed(network, address string) {
	p.c().DoConnCreateFailed(network, address)
}

func (p *connPlugins) DoClientConnected(conn net.Conn) (net.Conn, error) {
	if p.connected != nil {
		p.connected()
	}
	return p.c().DoClientConnected(conn)
}

func (p *connPlugins) DoClientConnectionClose(conn net.Conn) error {
	return p.c().DoClientConnectionClose(conn)
}

func (p *connPlugins) DoPreCall(ctx context.Context, servicePath, serviceMethod string, args interface{}) error {
	return p.c().DoPreCall(ctx, servicePath, serviceMethod, args)
}

func (p *connPlugins) DoPostCall(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, err error) error {
	return p.c().DoPostCall(ctx, servicePath, serviceMethod, args, reply, err)
}

func (p *connPlugins) DoClientBeforeEncode(m *protocol.Message) error {
	return p.c().DoClientBeforeEncode(m)
}

func (p *connPlugins) DoClientAfterDecode(m *protocol.Message) error {
	return p.c().DoClientAfterDecode(m)
}

func (p *connPlugins) DoWrapSelect(fn SelectFunc) SelectFunc { return p.c().DoWrapSelect(fn) }
