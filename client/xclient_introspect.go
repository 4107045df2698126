package client

import (
	"sort"
	"sync/atomic"
	"time"
)

// Introspector is implemented by the XClients of NewXClient and
// NewBidirectionalXClient (courier addition): what a debug page or a
// metrics exporter shows of a client. Use a type assertion:
//
//	if in, ok := xc.(client.Introspector); ok { state := in.Introspect() }
type Introspector interface {
	// Introspect returns a snapshot of the XClient's view. It is safe for
	// concurrent use with calls, costs a few locks and allocations per
	// server, and never blocks on the network.
	Introspect() XClientState
}

// XClientState is a snapshot of an XClient (see Introspector).
type XClientState struct {
	ServicePath string `json:"service_path"`
	FailMode    string `json:"fail_mode"`
	SelectMode  string `json:"select_mode"`
	// HealthCheck tells whether Option.HealthCheck is on.
	HealthCheck bool `json:"health_check"`
	// Servers lists the discovered servers (after state and group
	// filtering), in key order.
	Servers []ServerState `json:"servers"`
	Stats   XClientStats  `json:"stats"`
}

// ServerState is one server of an XClientState.
type ServerState struct {
	// Key is the server's "network@address".
	Key string `json:"key"`
	// Metadata is the server's discovery metadata.
	Metadata string `json:"metadata,omitempty"`
	// Selectable is false while the server reports NOT_SERVING (health
	// checking); an ejected server or one with an open breaker is still
	// in the list (see Ejected, Breaker, Conn).
	Selectable bool `json:"selectable"`
	// Ejected tells whether outlier ejection keeps the server out now.
	Ejected bool `json:"ejected"`
	// Breaker is "closed", "open" or "" (no breaker).
	Breaker string `json:"breaker,omitempty"`
	// Conn is the connection cache's state of the server: "none" (not
	// dialed yet, or managed by a CacheClientBuilder), "dialing",
	// "connected", "draining" (the server sent its drain notice) or
	// "backoff" (the last dial failed; no new dial until its backoff ends).
	Conn string `json:"conn"`
	// InFlight is the number of calls waiting for a response on the
	// server's connections (the current one and draining ones).
	InFlight int `json:"in_flight"`
	// DialFailures counts the dials that failed in a row.
	DialFailures int `json:"dial_failures,omitempty"`
	// LastError is the error of the last failed dial.
	LastError string `json:"last_error,omitempty"`
	// Health is what health checking knows (nil when it is off).
	Health *HealthState `json:"health,omitempty"`
}

// Introspect returns a snapshot of the XClient's view (see Introspector).
func (x *xClient) Introspect() XClientState {
	x.mu.RLock()
	discovered, servers := x.discovered, x.servers
	x.mu.RUnlock()
	st := XClientState{ServicePath: x.servicePath, FailMode: x.failMode.String(), SelectMode: x.selectMode.String(),
		HealthCheck: x.health != nil, Stats: x.Stats()}
	conns := x.cache.states()
	health := x.health.states()
	for key, meta := range discovered {
		_, selectable := servers[key]
		s := ServerState{Key: key, Metadata: meta, Selectable: selectable, Ejected: x.outliers.ejected(key), Conn: "none"}
		if c, ok := conns[key]; ok {
			s.Breaker, s.Conn, s.InFlight, s.DialFailures, s.LastError = c.Breaker, c.Conn, c.InFlight, c.DialFailures, c.LastError
		}
		if h, ok := health[key]; ok {
			s.Health = &h
		}
		st.Servers = append(st.Servers, s)
	}
	sort.Slice(st.Servers, func(i, j int) bool { return st.Servers[i].Key < st.Servers[j].Key })
	return st
}

// states returns the cache's view of each server it has an entry for,
// in ServerState's fields (Key, Metadata and the rest left empty).
func (c *connCache) states() map[string]ServerState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]ServerState, len(c.entries))
	now := c.now()
	for key, e := range c.entries {
		s := ServerState{Conn: "none", DialFailures: e.failures}
		if e.lastErr != nil {
			s.LastError = e.lastErr.Error()
		}
		switch {
		case e.client != nil && healthy(e.client):
			s.Conn = "connected"
		case e.dialing != nil:
			s.Conn = "dialing"
		case len(e.retired) > 0 || e.client != nil:
			s.Conn = "draining"
		case now.Before(e.retryAt):
			s.Conn = "backoff"
		}
		for _, cl := range append([]RPCClient{e.client}, e.retired...) {
			if p, ok := cl.(interface{ pendingLen() int }); ok {
				s.InFlight += p.pendingLen()
			}
		}
		if e.breaker != nil {
			s.Breaker = "closed"
			if !e.breaker.Ready() {
				s.Breaker = "open"
			}
		}
		out[key] = s
	}
	return out
}

// openCounters wraps gen (nil: no breakers) so that every time an
// attempt leaves a server's breaker open (it tripped, or re-opened after
// its half-open trial) XClientStats.BreakerOpens counts it once, and
// BreakerObserverPlugins hear of each opening and of the breaker letting
// calls through again.
func (x *xClient) openCounters(gen func() Breaker) func(key string) Breaker {
	if gen == nil {
		return nil
	}
	return func(key string) Breaker {
		b := gen()
		if b == nil {
			return nil
		}
		return &openCounter{Breaker: b, opens: &x.stats.breakerOpens, notify: func(open bool) { x.breakerChanged(key, open) }}
	}
}

// breakerChanged tells x's BreakerObserverPlugins that the breaker of
// server key opened or let calls through again.
func (x *xClient) breakerChanged(key string, open bool) {
	for _, p := range x.GetPlugins().All() {
		if o, ok := p.(BreakerObserverPlugin); ok {
			o.BreakerStateChanged(x.servicePath, key, open)
		}
	}
}

// openCounter counts the openings of the Breaker it wraps; open is
// true from an observed opening until the breaker lets a call through.
// notify hears of both changes.
type openCounter struct {
	Breaker
	opens  *atomic.Uint64
	open   atomic.Bool
	notify func(open bool)
}

// Call runs fn through the wrapped breaker and counts an opening.
func (b *openCounter) Call(fn func() error, d time.Duration) error {
	if b.Breaker.Ready() && b.open.CompareAndSwap(true, false) {
		b.notify(false)
	}
	err := b.Breaker.Call(fn, d)
	b.noteState()
	return err
}

// Fail records a failure in the wrapped breaker and counts an opening.
func (b *openCounter) Fail() {
	b.Breaker.Fail()
	b.noteState()
}

// noteState counts the breaker's opening the first time it is seen open.
func (b *openCounter) noteState() {
	if !b.Breaker.Ready() && b.open.CompareAndSwap(false, true) {
		b.opens.Add(1)
		b.notify(true)
	}
}
