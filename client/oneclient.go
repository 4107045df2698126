package client

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// OneClient is a client of many services over one discovery: it creates
// an XClient per service path on first use (with a clone of the discovery
// for that path) and routes each call to it. It is safe for concurrent
// use. Set Plugins before the first call, or use SetPlugins.
type OneClient struct {
	// Plugins are the plugins of every XClient created from now on.
	Plugins PluginContainer

	failMode   FailMode
	selectMode SelectMode
	discovery  ServiceDiscovery
	option     Option
	msgChan    chan<- *protocol.Message
	newClient  func(Option, PluginContainer) RPCClient // nil: real Clients

	mu       sync.Mutex
	xclients map[string]XClient
	clones   []ServiceDiscovery
	auth     *string
	geo      *[2]float64
	closed   bool
}

// NewOneClient returns a OneClient whose XClients use failMode, selectMode
// and option over discovery (cloned per service path).
func NewOneClient(failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option) *OneClient {
	return newOneClient(failMode, selectMode, discovery, option, nil)
}

// NewBidirectionalOneClient is NewOneClient whose connections deliver
// server notifications to serverMessageChan.
func NewBidirectionalOneClient(failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option, serverMessageChan chan<- *protocol.Message) *OneClient {
	return newOneClient(failMode, selectMode, discovery, option, serverMessageChan)
}

func newOneClient(failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option, ch chan<- *protocol.Message) *OneClient {
	return &OneClient{Plugins: NewPluginContainer(), failMode: failMode, selectMode: selectMode,
		discovery: discovery, option: option, msgChan: ch, xclients: map[string]XClient{}}
}

// xclient returns the XClient of servicePath, creating it.
func (c *OneClient) xclient(servicePath string) (XClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrXClientShutdown
	}
	if x := c.xclients[servicePath]; x != nil {
		return x, nil
	}
	if isNilDiscovery(c.discovery) {
		return nil, fmt.Errorf("%w: OneClient has no discovery (see the discovery constructor's error)", ErrXClientNoServer)
	}
	d, err := c.discovery.Clone(servicePath)
	if err != nil && (isNilDiscovery(d) || !discoveryKeepsWatching(err)) {
		if !isNilDiscovery(d) {
			d.Close()
		}
		return nil, fmt.Errorf("client: discovery of %s: %w", servicePath, err)
	}
	x := newXClient(servicePath, c.failMode, c.selectMode, d, c.option, c.msgChan, c.newClient)
	if c.Plugins != nil {
		x.SetPlugins(c.Plugins)
	}
	if c.auth != nil {
		x.Auth(*c.auth)
	}
	if c.geo != nil {
		x.ConfigGeoSelector(c.geo[0], c.geo[1])
	}
	c.xclients[servicePath] = x
	c.clones = append(c.clones, d)
	return x, nil
}

// each runs fn on every XClient created so far.
func (c *OneClient) each(fn func(XClient)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.xclients {
		fn(x)
	}
}

// SetPlugins sets the plugins of every XClient, current and future.
func (c *OneClient) SetPlugins(plugins PluginContainer) {
	c.mu.Lock()
	c.Plugins = plugins
	c.mu.Unlock()
	c.each(func(x XClient) { x.SetPlugins(plugins) })
}

// GetPlugins returns the plugins.
func (c *OneClient) GetPlugins() PluginContainer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Plugins
}

// SetSelector sets the selector of servicePath's XClient (creating it).
// It does nothing when the XClient cannot be created (see Call's errors).
func (c *OneClient) SetSelector(servicePath string, s Selector) {
	if x, err := c.xclient(servicePath); err == nil {
		x.SetSelector(s)
	}
}

// ConfigGeoSelector sets the client's position for every XClient.
func (c *OneClient) ConfigGeoSelector(latitude, longitude float64) {
	c.mu.Lock()
	c.geo = &[2]float64{latitude, longitude}
	c.mu.Unlock()
	c.each(func(x XClient) { x.ConfigGeoSelector(latitude, longitude) })
}

// Auth sets the auth token of every XClient.
func (c *OneClient) Auth(auth string) {
	c.mu.Lock()
	c.auth = &auth
	c.mu.Unlock()
	c.each(func(x XClient) { x.Auth(auth) })
}

// Go is XClient.Go on servicePath.
func (c *OneClient) Go(ctx context.Context, servicePath string, serviceMethod string, args interface{}, reply interface{}, done chan *Call) (*Call, error) {
	x, err := c.xclient(servicePath)
	if err != nil {
		return nil, err
	}
	return x.Go(ctx, serviceMethod, args, reply, done)
}

// Call is XClient.Call on servicePath.
func (c *OneClient) Call(ctx context.Context, servicePath string, serviceMethod string, args interface{}, reply interface{}) error {
	x, err := c.xclient(servicePath)
	if err != nil {
		return err
	}
	return x.Call(ctx, serviceMethod, args, reply)
}

// Oneshot is XClient.Oneshot on servicePath.
func (c *OneClient) Oneshot(ctx context.Context, servicePath string, serviceMethod string, args interface{}) error {
	x, err := c.xclient(servicePath)
	if err != nil {
		return err
	}
	return x.Oneshot(ctx, serviceMethod, args)
}

// Broadcast is XClient.Broadcast on servicePath.
func (c *OneClient) Broadcast(ctx context.Context, servicePath string, serviceMethod string, args interface{}, reply interface{}) error {
	x, err := c.xclient(servicePath)
	if err != nil {
		return err
	}
	return x.Broadcast(ctx, serviceMethod, args, reply)
}

// Fork is XClient.Fork on servicePath.
func (c *OneClient) Fork(ctx context.Context, servicePath string, serviceMethod string, args interface{}, reply interface{}) error {
	x, err := c.xclient(servicePath)
	if err != nil {
		return err
	}
	return x.Fork(ctx, serviceMethod, args, reply)
}

// Inform is XClient.Inform on servicePath.
func (c *OneClient) Inform(ctx context.Context, servicePath string, serviceMethod string, args interface{}, reply interface{}) ([]Receipt, error) {
	x, err := c.xclient(servicePath)
	if err != nil {
		return nil, err
	}
	return x.Inform(ctx, serviceMethod, args, reply)
}

// SendRaw is XClient.SendRaw on r.ServicePath.
func (c *OneClient) SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error) {
	if r == nil {
		return nil, nil, ErrNilMessage
	}
	x, err := c.xclient(r.ServicePath)
	if err != nil {
		return nil, nil, err
	}
	return x.SendRaw(ctx, r)
}

// SendFile is XClient.SendFile on the service share.SendFileServiceName.
func (c *OneClient) SendFile(ctx context.Context, fileName string, rateInBytesPerSecond int64, meta map[string]string) error {
	x, err := c.xclient(share.SendFileServiceName)
	if err != nil {
		return err
	}
	return x.SendFile(ctx, fileName, rateInBytesPerSecond, meta)
}

// DownloadFile is XClient.DownloadFile on the service
// share.SendFileServiceName.
func (c *OneClient) DownloadFile(ctx context.Context, requestFileName string, saveTo io.Writer, meta map[string]string) error {
	x, err := c.xclient(share.SendFileServiceName)
	if err != nil {
		return err
	}
	return x.DownloadFile(ctx, requestFileName, saveTo, meta)
}

// Stream is XClient.Stream on the service share.StreamServiceName.
func (c *OneClient) Stream(ctx context.Context, meta map[string]string) (net.Conn, error) {
	x, err := c.xclient(share.StreamServiceName)
	if err != nil {
		return nil, err
	}
	return x.Stream(ctx, meta)
}

// Close closes every XClient and the discovery clones made for them (not
// the discovery given to NewOneClient). Later calls fail with
// ErrXClientShutdown. It may be called more than once.
func (c *OneClient) Close() error {
	c.mu.Lock()
	c.closed = true
	xs, clones := c.xclients, c.clones
	c.xclients, c.clones = map[string]XClient{}, nil
	c.mu.Unlock()
	for _, x := range xs {
		_ = x.Close()
	}
	for _, d := range clones {
		d.Close()
	}
	return nil
}
