package client

import (
	"sync/atomic"

	"github.com/courier-rpc/courier/protocol"
)

// XClientPool is a fixed set of XClients of one service handed out in
// turn by Get, to spread load over more connections per server. It is safe
// for concurrent use.
type XClientPool struct {
	next     atomic.Uint64
	xclients []XClient
}

// NewXClientPool returns a pool of count XClients (at least 1) created
// with NewXClient over the same discovery.
func NewXClientPool(count int, servicePath string, failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option) *XClientPool {
	return newXClientPool(count, func() XClient {
		return NewXClient(servicePath, failMode, selectMode, discovery, option)
	})
}

// NewBidirectionalXClientPool is NewXClientPool whose XClients deliver
// server notifications to serverMessageChan.
func NewBidirectionalXClientPool(count int, servicePath string, failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option, serverMessageChan chan<- *protocol.Message) *XClientPool {
	return newXClientPool(count, func() XClient {
		return NewBidirectionalXClient(servicePath, failMode, selectMode, discovery, option, serverMessageChan)
	})
}

func newXClientPool(count int, mk func() XClient) *XClientPool {
	count = max(count, 1)
	p := &XClientPool{xclients: make([]XClient, count)}
	for i := range p.xclients {
		p.xclients[i] = mk()
	}
	return p
}

// Auth sets the auth token of every XClient in the pool.
func (p *XClientPool) Auth(auth string) {
	for _, x := range p.xclients {
		x.Auth(auth)
	}
}

// Get returns the next XClient, round robin.
func (p *XClientPool) Get() XClient {
	i := p.next.Add(1) - 1
	return p.xclients[i%uint64(len(p.xclients))]
}

// Close closes every XClient of the pool.
func (p *XClientPool) Close() {
	for _, x := range p.xclients {
		_ = x.Close()
	}
}
