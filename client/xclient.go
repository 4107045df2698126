package client

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/courier-rpc/courier/internal/cacheline"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
)

// XClient is a client of one service (servicePath) offered by the servers
// of a discovery. It keeps one connection per server, chooses the server of
// each call with a selector, applies a fail mode, circuit breakers and
// plugins, and follows discovery changes at run time. Share one XClient per
// service in a program: it is safe for concurrent use.
type XClient interface {
	SetPlugins(plugins PluginContainer)
	GetPlugins() PluginContainer
	SetSelector(s Selector)
	ConfigGeoSelector(latitude, longitude float64)
	Auth(auth string)

	Go(ctx context.Context, serviceMethod string, args interface{}, reply interface{}, done chan *Call) (*Call, error)
	Call(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error
	Oneshot(ctx context.Context, serviceMethod string, args interface{}) error
	Broadcast(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error
	Fork(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error
	Inform(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) ([]Receipt, error)
	SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error)
	SendFile(ctx context.Context, fileName string, rateInBytesPerSecond int64, meta map[string]string) error
	DownloadFile(ctx context.Context, requestFileName string, saveTo io.Writer, meta map[string]string) error
	Stream(ctx context.Context, meta map[string]string) (net.Conn, error)
	Close() error
	// Stats returns the XClient's counters of calls, attempts, retries,
	// hedges, budget refusals and ejections (courier addition).
	Stats() XClientStats
}

// Receipt is the outcome of an Inform call on one server.
type Receipt struct {
	Address string
	Reply   interface{}
	Error   error
}

// xClient implements XClient.
type xClient struct {
	servicePath string
	failMode    FailMode
	selectMode  SelectMode
	option      Option
	discovery   ServiceDiscovery
	msgChan     chan<- *protocol.Message

	plugins atomic.Pointer[pluginHolder]
	auth    atomic.Pointer[string]
	sticky  atomic.Pointer[string]

	updateMu   sync.Mutex // serializes applyServers and SetSelector
	mu         sync.RWMutex
	servers    map[string]string // selectable: discovered minus NOT_SERVING; replaced, never mutated
	discovered map[string]string // filtered by state and group; replaced, never mutated
	selector   Selector
	closed     bool
	// snap holds servers, selector and closed as of their last change
	// (stored under mu by every writer), so that a call reads them with
	// one atomic load instead of a read lock (twice per call).
	snap atomic.Pointer[xSnapshot]

	budget   *RetryBudget   // nil: no budget (Option.DisableRetryBudget)
	outliers *outliers      // nil: no outlier ejection
	health   *healthChecker // nil: no health checking (Option.HealthCheck)
	nonIdem  atomic.Pointer[map[string]bool]
	hedgeLat sync.Map // serviceMethod -> *latencyWindow (Option.HedgeQuantile)

	// Counters every call adds to, from every core, padded onto cache
	// lines of their own so that they do not evict the fields around them,
	// which every call reads.
	_     cacheline.Pad
	stats xStats
	_     cacheline.Pad

	codecs    *share.CodecTable
	cache     *connCache
	newClient func(Option, PluginContainer) RPCClient
	watch     chan []*KVPair
	watchStop chan struct{}
	watchDone chan struct{}
	closeOnce sync.Once
}

type pluginHolder struct{ c PluginContainer }

// xSnapshot is what a call reads of an XClient's mutable state.
type xSnapshot struct {
	servers  map[string]string
	selector Selector
	closed   bool
}

// storeSnapshotLocked publishes servers, selector and closed to calls;
// the caller holds x.mu for writing and has just changed one of them.
func (x *xClient) storeSnapshotLocked() {
	x.snap.Store(&xSnapshot{servers: x.servers, selector: x.selector, closed: x.closed})
}

// newRPCClient makes an unconnected client for the connection cache.
func newRPCClient(option Option, plugins PluginContainer) RPCClient {
	c := NewClient(option)
	c.Plugins = plugins
	return c
}

// NewXClient returns an XClient of servicePath over the servers of
// discovery. It reads the current servers, then follows the discovery's
// watch channel until Close (with one goroutine; a Peer2PeerDiscovery,
// whose server never changes, is not watched). The discovery is not closed by Close: it may
// be shared. An unknown select mode (or SelectByUser) selects nothing until
// SetSelector is called.
func NewXClient(servicePath string, failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option) XClient {
	return newXClient(servicePath, failMode, selectMode, discovery, option, nil, nil)
}

// NewBidirectionalXClient is NewXClient whose connections deliver server
// notifications to serverMessageChan (registered on every underlying
// Client).
func NewBidirectionalXClient(servicePath string, failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option, serverMessageChan chan<- *protocol.Message) XClient {
	return newXClient(servicePath, failMode, selectMode, discovery, option, serverMessageChan, nil)
}

// newXClient builds an XClient; newClient makes its connections (nil:
// real Clients).
func newXClient(servicePath string, failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option, ch chan<- *protocol.Message, newClient func(Option, PluginContainer) RPCClient) *xClient {
	if newClient == nil {
		newClient = newRPCClient
	}
	x := &xClient{servicePath: servicePath, failMode: failMode, selectMode: selectMode,
		option: option, discovery: discovery, msgChan: ch, newClient: newClient, watchStop: make(chan struct{}), watchDone: make(chan struct{})}
	x.plugins.Store(&pluginHolder{NewPluginContainer()})
	x.codecs = share.NewCodecTable()
	x.cache = newConnCache(x.dial, x.openCounters(option.GenBreaker))
	switch {
	case option.DisableRetryBudget:
	case option.RetryBudget != nil:
		x.budget = option.RetryBudget
	default:
		x.budget = newDefaultRetryBudget()
	}
	if !option.Outlier.Disabled {
		x.outliers = newOutliers(option.Outlier)
	}
	if option.HealthCheck.Enabled {
		x.health = newHealthChecker(x, option.HealthCheck)
	}
	idem := nonIdempotentSet(option.NonIdempotent, nil)
	x.nonIdem.Store(&idem)
	x.selector = newSelector(selectMode, nil)
	x.storeSnapshotLocked() // x is not shared yet
	if isNilDiscovery(discovery) {
		x.discovery = nil
		close(x.watchDone)
		return x
	}
	x.applyServers(discovery.GetServices())
	if _, fixed := discovery.(*Peer2PeerDiscovery); fixed {
		// Its one server never changes: nothing to watch, no goroutine.
		close(x.watchDone)
		return x
	}
	x.watch = discovery.WatchService()
	go x.watchLoop(x.watch)
	return x
}

func (x *xClient) watchLoop(ch chan []*KVPair) {
	defer close(x.watchDone)
	for {
		select {
		case <-x.watchStop:
			return
		case pairs, ok := <-ch:
			if !ok {
				return
			}
			x.applyServers(pairs)
		}
	}
}

// applyServers filters pairs (state=inactive, Option.Group), gives them to
// the selector and closes the connections of servers that left.
func (x *xClient) applyServers(pairs []*KVPair) {
	servers := make(map[string]string, len(pairs))
	var metas []map[string]string
	for _, p := range pairs {
		if p == nil || p.Key == "" {
			continue
		}
		meta := util.ConvertMeta2Map(p.Value)
		if meta["state"] == "inactive" {
			continue
		}
		if x.option.Group != "" && meta["group"] != x.option.Group {
			continue
		}
		servers[p.Key] = p.Value
		if _, ok := meta[share.NonIdempotentMetaKey]; ok {
			metas = append(metas, meta)
		}
	}
	idem := nonIdempotentSet(x.option.NonIdempotent, metas)
	x.updateMu.Lock()
	defer x.updateMu.Unlock()
	x.nonIdem.Store(&idem)
	x.publishLocked(servers)
}

func copyServers(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// snapshot returns the current servers and selector, and whether the
// XClient is closed.
func (x *xClient) snapshot() (map[string]string, Selector, bool) {
	p := x.snap.Load()
	return p.servers, p.selector, p.closed
}

// SetPlugins replaces the plugin container; connections already open use
// the new one from then on. A nil container removes all plugins.
func (x *xClient) SetPlugins(plugins PluginContainer) {
	if plugins == nil {
		plugins = NewPluginContainer()
	}
	x.plugins.Store(&pluginHolder{plugins})
}

// GetPlugins returns the plugin container.
func (x *xClient) GetPlugins() PluginContainer { return x.plugins.Load().c }

// SetSelector replaces the selector (for SelectByUser) and gives it the
// current servers.
func (x *xClient) SetSelector(s Selector) {
	x.updateMu.Lock()
	defer x.updateMu.Unlock()
	x.mu.Lock()
	x.selector = s
	x.storeSnapshotLocked()
	servers := x.servers
	x.mu.Unlock()
	if s != nil {
		s.UpdateServer(copyServers(servers))
	}
}

// ConfigGeoSelector sets the client's position for the Closest select
// mode, replacing the selector with a geo selector if it is another one.
func (x *xClient) ConfigGeoSelector(latitude, longitude float64) {
	x.mu.RLock()
	g, ok := x.selector.(*geoSelector)
	x.mu.RUnlock()
	if ok {
		g.setPosition(latitude, longitude)
		return
	}
	x.SetSelector(newGeoSelector(latitude, longitude))
}

// Auth sets the token sent in metadata share.AuthKey with every call (the
// caller's metadata map is never modified). An empty token sends none.
func (x *xClient) Auth(auth string) { x.auth.Store(&auth) }

// withAuth returns ctx whose request metadata carries the auth token.
func (x *xClient) withAuth(ctx context.Context) context.Context {
	p := x.auth.Load()
	if p == nil || *p == "" {
		return ctx
	}
	old, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	m := make(map[string]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[share.AuthKey] = *p
	return context.WithValue(ctx, share.ReqMetaDataKey, m)
}

// Close closes every connection, stops following discovery and makes
// later calls fail with ErrXClientShutdown. It returns nil and may be
// called more than once.
func (x *xClient) Close() error {
	x.closeOnce.Do(func() {
		x.mu.Lock()
		x.closed = true
		x.storeSnapshotLocked()
		x.mu.Unlock()
		close(x.watchStop)
		<-x.watchDone
		if x.watch != nil {
			x.discovery.RemoveWatcher(x.watch)
		}
		x.health.close()
		x.cache.close()
	})
	return nil
}

// errNoServer is the error of a call that finds no server: it wraps
// ErrXClientNoServer and names the service, and says so when the XClient
// was built without a discovery.
func (x *xClient) errNoServer() error {
	if x.discovery == nil {
		return fmt.Errorf("%w: %s: the XClient was built with a nil discovery (see the discovery constructor's error)", ErrXClientNoServer, x.servicePath)
	}
	if n := x.health.notServing(); n > 0 {
		return fmt.Errorf("%w: %s: %d server(s) report NOT_SERVING", ErrXClientNoServer, x.servicePath, n)
	}
	return fmt.Errorf("%w: %s", ErrXClientNoServer, x.servicePath)
}
