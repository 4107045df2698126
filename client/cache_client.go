package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/util"
)

// CacheClientBuilder lets a network manage its own connections instead of
// the XClient's connection cache (rpcx hook). For a server key whose
// network has a registered builder, the XClient asks FindCachedClient
// first, then GenerateClient and SetCachedClient, and DeleteCachedClient
// when the client is shut down. Implementations must be safe for
// concurrent use.
type CacheClientBuilder interface {
	SetCachedClient(client RPCClient, k, servicePath, serviceMethod string)
	FindCachedClient(k, servicePath, serviceMethod string) RPCClient
	DeleteCachedClient(client RPCClient, k, servicePath, serviceMethod string)
	GenerateClient(k, servicePath, serviceMethod string) (client RPCClient, err error)
}

// builders maps networks to their CacheClientBuilder. The map is never
// changed once stored: a registration stores a new copy (under
// buildersMu), so builderOf, called on every XClient attempt, reads it
// without a lock.
var (
	buildersMu sync.Mutex
	builders   atomic.Pointer[map[string]CacheClientBuilder]
)

// RegisterCacheClientBuilder makes builder manage the connections of
// servers whose key has this network ("network@address"). It is safe for
// concurrent use; a later registration replaces an earlier one.
func RegisterCacheClientBuilder(network string, builder CacheClientBuilder) {
	buildersMu.Lock()
	defer buildersMu.Unlock()
	var old map[string]CacheClientBuilder
	if p := builders.Load(); p != nil {
		old = *p
	}
	m := make(map[string]CacheClientBuilder, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[network] = builder
	builders.Store(&m)
}

// builderOf returns the builder registered for network, or nil.
func builderOf(network string) CacheClientBuilder {
	if p := builders.Load(); p != nil {
		return (*p)[network]
	}
	return nil
}

// Reconnect backoff of the connection cache: after the n-th consecutive
// failed dial of a server, no new dial starts before
// min(dialBackoffBase<<(n-1), dialBackoffMax) has passed, and the server is
// skipped by selection meanwhile.
const (
	dialBackoffBase = 20 * time.Millisecond
	dialBackoffMax  = time.Second
)

func dialBackoff(failures int) time.Duration {
	if failures > 7 {
		return dialBackoffMax
	}
	return min(dialBackoffBase<<(failures-1), dialBackoffMax)
}

// connEntry is the cached state of one server: its client, the dial in
// flight, the reconnect backoff and its circuit breaker.
type connEntry struct {
	key      string
	client   RPCClient
	retired  []RPCClient   // draining clients, closed once shut down
	dialing  chan struct{} // closed when the dial in flight ends
	lastErr  error
	failures int
	retryAt  time.Time
	breaker  Breaker // set when the entry is made, never changed
	removed  bool

	// fast is client while it alone serves the key (no retired client
	// draining, not removed, no CacheClientBuilder for its network), so
	// that get and usable read it without c.mu; nil otherwise. It is
	// written under c.mu by syncFastLocked after every change of the fields
	// above.
	fast atomic.Pointer[fastClient]
}

// fastClient is a connEntry's client as the lock-free path sees it:
// valid while the builders registered are still those of when it was
// stored (a builder registered later takes the key over).
type fastClient struct {
	client   RPCClient
	builders *map[string]CacheClientBuilder
}

// dialFunc makes a connected client for a server key. published must be
// called (at most once) as soon as the client can take calls, which may be
// before dialFunc returns (from a ClientConnected hook).
type dialFunc func(key string, published func(RPCClient)) (RPCClient, error)

// connCache holds one RPCClient per server key. It dials lazily, with at
// most one dial in flight per key however many callers wait, backs off
// after failed dials, replaces clients that shut down or drain, and closes
// the clients of servers that left discovery. It is safe for concurrent use.
type connCache struct {
	mu      sync.RWMutex
	entries map[string]*connEntry
	// live mirrors entries (written under mu) for the lock-free path of
	// get, usable and breaker, which runs on every call: key → *connEntry.
	live       sync.Map
	servers    map[string]string // the current discovery set; nil until the first retain
	closed     bool
	dial       dialFunc
	genBreaker func(key string) Breaker
	wg         sync.WaitGroup
	now        func() time.Time
}

func newConnCache(dial dialFunc, genBreaker func(key string) Breaker) *connCache {
	return &connCache{entries: map[string]*connEntry{}, dial: dial, genBreaker: genBreaker, now: time.Now}
}

func healthy(c RPCClient) bool { return !c.IsShutdown() && !c.IsClosing() }

// entry returns the entry of key, creating it; the caller holds c.mu.
func (c *connCache) entry(key string) *connEntry {
	e := c.entries[key]
	if e == nil {
		e = &connEntry{key: key}
		if c.genBreaker != nil {
			e.breaker = c.genBreaker(key)
		}
		c.entries[key] = e
		c.live.Store(key, e)
	}
	return e
}

// syncFastLocked brings e.fast in line with e's other fields; the caller
// holds c.mu.
func (c *connCache) syncFastLocked(e *connEntry) {
	if e.client == nil || len(e.retired) > 0 || e.removed || c.closed {
		e.fast.Store(nil)
		return
	}
	bs := builders.Load()
	if bs != nil {
		if network, _ := util.SplitNetworkAddress(e.key); (*bs)[network] != nil {
			e.fast.Store(nil)
			return
		}
	}
	if f := e.fast.Load(); f == nil || f.client != e.client || f.builders != bs {
		e.fast.Store(&fastClient{client: e.client, builders: bs})
	}
}

// liveEntry returns the entry of key without taking c.mu, or nil.
func (c *connCache) liveEntry(key string) *connEntry {
	if v, ok := c.live.Load(key); ok {
		return v.(*connEntry)
	}
	return nil
}

// fastGet returns key's client when the lock-free path may serve it:
// the entry's only client, healthy, with no CacheClientBuilder registered
// for its network since it was stored. nil sends the caller to the locked
// path.
func (c *connCache) fastGet(key string) RPCClient {
	e := c.liveEntry(key)
	if e == nil {
		return nil
	}
	return fastClientOf(e)
}

// fastClientOf is fastGet for an entry already looked up.
func fastClientOf(e *connEntry) RPCClient {
	f := e.fast.Load()
	if f == nil || f.builders != builders.Load() || !healthy(f.client) {
		return nil
	}
	return f.client
}

// breaker returns the circuit breaker of key (nil without GenBreaker).
func (c *connCache) breaker(key string) Breaker {
	if c.genBreaker == nil {
		return nil
	}
	if e := c.liveEntry(key); e != nil {
		return e.breaker
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return c.entry(key).breaker
}

// usable reports why key should not be selected now: its breaker is open
// or it is waiting out a reconnect backoff. nil means usable.
func (c *connCache) usable(key string) error {
	_, err := c.usableEntry(key)
	return err
}

// usableEntry is usable that also returns key's entry when it is connected
// (nil otherwise).
func (c *connCache) usableEntry(key string) (*connEntry, error) {
	if e := c.liveEntry(key); e != nil && e.fast.Load() != nil { // connected: no backoff
		if b := e.breaker; b != nil && !b.Ready() {
			return nil, fmt.Errorf("%w: %s", ErrBreakerOpen, key)
		}
		return e, nil
	}
	c.mu.RLock()
	e := c.entries[key]
	var b Breaker
	var backoff error
	if e != nil {
		b = e.breaker
		if e.client == nil && e.dialing == nil && c.now().Before(e.retryAt) {
			backoff = fmt.Errorf("%w: %s: reconnecting after %v", ErrServerUnavailable, key, e.lastErr)
		}
	}
	c.mu.RUnlock()
	if b != nil && !b.Ready() {
		return nil, fmt.Errorf("%w: %s", ErrBreakerOpen, key)
	}
	return nil, backoff
}

// get returns a healthy client of key, dialing if needed. Callers that
// arrive while a dial is in flight wait for it (or for ctx) and share its
// result; during a backoff get fails at once with ErrServerUnavailable.
func (c *connCache) get(ctx context.Context, key, servicePath, serviceMethod string) (RPCClient, error) {
	if cl := c.fastGet(key); cl != nil {
		return cl, nil
	}
	network, _ := util.SplitNetworkAddress(key)
	if b := builderOf(network); b != nil {
		return c.fromBuilder(b, key, servicePath, serviceMethod)
	}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, ErrXClientShutdown
	}
	if e := c.entries[key]; e != nil && e.client != nil && len(e.retired) == 0 && healthy(e.client) {
		cl := e.client
		c.mu.RUnlock()
		return cl, nil
	}
	c.mu.RUnlock()

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrXClientShutdown
	}
	if _, ok := c.servers[key]; c.servers != nil && !ok {
		// A caller that selected from an older list must not dial a server
		// that has left discovery (its connection would stay open).
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s left discovery", ErrServerUnavailable, key)
	}
	e := c.entry(key)
	toClose := c.sweep(e)
	c.syncFastLocked(e)
	var ch chan struct{}
	switch {
	case e.client != nil:
		cl := e.client
		c.mu.Unlock()
		closeAll(toClose)
		return cl, nil
	case e.dialing != nil:
		ch = e.dialing
	case c.now().Before(e.retryAt):
		err := fmt.Errorf("%w: %s: reconnecting after %w", ErrServerUnavailable, key, e.lastErr)
		c.mu.Unlock()
		closeAll(toClose)
		return nil, err
	default:
		ch = make(chan struct{})
		e.dialing = ch
		c.wg.Add(1)
		go c.runDial(e, ch)
	}
	c.mu.Unlock()
	closeAll(toClose)

	select {
	case <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e.client != nil {
		return e.client, nil
	}
	if c.closed || e.removed {
		return nil, fmt.Errorf("%w: %s left discovery", ErrServerUnavailable, key)
	}
	if e.lastErr == nil {
		return nil, fmt.Errorf("%w: %s", ErrServerUnavailable, key)
	}
	return nil, e.lastErr
}

// sweep drops a client that shut down or drains (draining ones are kept
// until they shut down so their calls finish) and returns the clients to
// close. The caller holds c.mu.
func (c *connCache) sweep(e *connEntry) []RPCClient {
	var toClose []RPCClient
	if e.client != nil && !healthy(e.client) {
		if e.client.IsShutdown() {
			toClose = append(toClose, e.client)
		} else {
			e.retired = append(e.retired, e.client)
		}
		e.client = nil
	}
	kept := e.retired[:0]
	for _, r := range e.retired {
		if r.IsShutdown() {
			toClose = append(toClose, r)
		} else {
			kept = append(kept, r)
		}
	}
	e.retired = kept
	return toClose
}

// runDial dials key and publishes the result to the waiters of ch.
func (c *connCache) runDial(e *connEntry, ch chan struct{}) {
	defer c.wg.Done()
	publish := func(cl RPCClient) {
		c.mu.Lock()
		if e.dialing == ch && !e.removed && !c.closed {
			e.client, e.failures, e.lastErr = cl, 0, nil
			close(ch)
			e.dialing = nil
			c.syncFastLocked(e)
		}
		c.mu.Unlock()
	}
	cl, err := c.dial(e.key, publish)
	var toClose RPCClient
	c.mu.Lock()
	if err != nil {
		if cl != nil && e.client == cl {
			e.client = nil
		}
		e.failures++
		e.lastErr = err
		e.retryAt = c.now().Add(dialBackoff(e.failures))
	} else if e.removed || c.closed {
		toClose = cl
		if e.client == cl {
			e.client = nil
		}
	} else if e.client != cl {
		e.client, e.failures, e.lastErr = cl, 0, nil
	}
	if e.dialing == ch {
		close(ch)
		e.dialing = nil
	}
	c.syncFastLocked(e)
	c.mu.Unlock()
	if toClose != nil {
		_ = toClose.Close()
	}
}

// fromBuilder gets a client of key from a registered CacheClientBuilder.
func (c *connCache) fromBuilder(b CacheClientBuilder, key, servicePath, serviceMethod string) (RPCClient, error) {
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil, ErrXClientShutdown
	}
	if cl := b.FindCachedClient(key, servicePath, serviceMethod); cl != nil {
		if healthy(cl) {
			return cl, nil
		}
		b.DeleteCachedClient(cl, key, servicePath, serviceMethod)
	}
	cl, err := b.GenerateClient(key, servicePath, serviceMethod)
	if err != nil {
		return nil, err
	}
	if cl == nil {
		return nil, fmt.Errorf("%w: %s: cache client builder returned no client", ErrServerUnavailable, key)
	}
	b.SetCachedClient(cl, key, servicePath, serviceMethod)
	return cl, nil
}

// retain closes and forgets every server not in servers.
func (c *connCache) retain(servers map[string]string) {
	var toClose []RPCClient
	c.mu.Lock()
	c.servers = servers
	for k, e := range c.entries {
		if _, ok := servers[k]; ok {
			continue
		}
		e.removed = true
		delete(c.entries, k)
		c.live.Delete(k)
		if e.client != nil {
			toClose = append(toClose, e.client)
			e.client = nil
		}
		toClose = append(toClose, e.retired...)
		e.retired = nil
		c.syncFastLocked(e)
	}
	c.mu.Unlock()
	closeAll(toClose)
}

// close closes every client and waits for dials in flight.
func (c *connCache) close() {
	var toClose []RPCClient
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for _, e := range c.entries {
		e.removed = true
		if e.client != nil {
			toClose = append(toClose, e.client)
			e.client = nil
		}
		toClose = append(toClose, e.retired...)
		c.syncFastLocked(e)
	}
	c.entries = map[string]*connEntry{}
	c.live.Clear()
	c.mu.Unlock()
	closeAll(toClose)
	c.wg.Wait()
}

// clients returns the cached healthy clients (for tests and fan-out).
func (c *connCache) clients() map[string]RPCClient {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := make(map[string]RPCClient, len(c.entries))
	for k, e := range c.entries {
		if e.client != nil {
			m[k] = e.client
		}
	}
	return m
}

func closeAll(cs []RPCClient) {
	for _, cl := range cs {
		_ = cl.Close() // a dead connection may fail to close; nothing to do
	}
}
