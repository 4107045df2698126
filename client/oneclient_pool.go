package client

import (
	"sync"

	"github.com/courier-rpc/courier/protocol"
)

// OneClientPool is a fixed set of OneClients handed out in turn by Get.
// It is safe for concurrent use.
type OneClientPool struct {
	pool []*OneClient
	next uint64
	mu   sync.Mutex
}

// NewOneClientPool returns a pool of count OneClients (at least 1).
func NewOneClientPool(count int, failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option) *OneClientPool {
	return newOneClientPool(count, func() *OneClient { return NewOneClient(failMode, selectMode, discovery, option) })
}

// NewBidirectionalOneClientPool is NewOneClientPool whose OneClients
// deliver server notifications to serverMessageChan.
func NewBidirectionalOneClientPool(count int, failMode FailMode, selectMode SelectMode, discovery ServiceDiscovery, option Option, serverMessageChan chan<- *protocol.Message) *OneClientPool {
	return newOneClientPool(count, func() *OneClient {
		return NewBidirectionalOneClient(failMode, selectMode, discovery, option, serverMessageChan)
	})
}

func newOneClientPool(count int, mk func() *OneClient) *OneClientPool {
	p := &OneClientPool{pool: make([]*OneClient, max(count, 1))}
	for i := range p.pool {
		p.pool[i] = mk()
	}
	return p
}

// Auth sets the auth token of every OneClient.
func (p *OneClientPool) Auth(auth string) {
	for _, c := range p.pool {
		c.Auth(auth)
	}
}

// Get returns the next OneClient, round robin.
func (p *OneClientPool) Get() *OneClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.pool[p.next%uint64(len(p.pool))]
	p.next++
	return c
}

// Close closes every OneClient.
func (p *OneClientPool) Close() {
	for _, c := range p.pool {
		_ = c.Close()
	}
}
