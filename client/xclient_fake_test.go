package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// errRefused is what a fake dial to a refusing server returns.
var errRefused = errors.New("fake: connection refused")

// fakeServer is one server of a fakeNet: it counts dials and calls and
// answers calls with its behaviour.
type fakeServer struct {
	key   string
	id    int
	dials atomic.Int64
	// inflight and maxInflight count concurrent dials.
	inflight, maxInflight atomic.Int64
	hits                  atomic.Int64
	// refuse makes dials fail.
	refuse atomic.Bool
	// dialGate, when set, blocks dials until closed.
	dialGate chan struct{}
	mu       sync.Mutex
	behave   func(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error
	lastMeta map[string]string
	clients  []*fakeClient
}

func (s *fakeServer) setBehaviour(b func(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error) {
	s.mu.Lock()
	s.behave = b
	s.mu.Unlock()
}

// Behaviours.
func answerID(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
	if r, ok := reply.(*int); ok {
		*r = c.srv.id
	}
	return nil
}

func hang(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
	<-ctx.Done()
	return ctx.Err()
}

func slow(d time.Duration) func(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
	return func(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return answerID(ctx, c, method, args, reply)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func closeMidCall(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
	c.shutdown.Store(true)
	return fmt.Errorf("fake: %w", ErrShutdown)
}

func serviceFailure(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
	return NewServiceError("boom")
}

func draining(ctx context.Context, c *fakeClient, method string, args, reply interface{}) error {
	return &drainError{msg: "server is shutting down"}
}

// fakeNet is a set of fake servers by key.
type fakeNet struct {
	mu      sync.Mutex
	servers map[string]*fakeServer
}

func newFakeNet(n int) *fakeNet {
	f := &fakeNet{servers: map[string]*fakeServer{}}
	for i := 0; i < n; i++ {
		f.add(i)
	}
	return f
}

func (f *fakeNet) add(id int) *fakeServer {
	s := &fakeServer{key: fmt.Sprintf("tcp@10.0.0.%d:8972", id), id: id, behave: answerID}
	f.mu.Lock()
	f.servers[s.key] = s
	f.mu.Unlock()
	return s
}

func (f *fakeNet) get(id int) *fakeServer {
	return f.server(fmt.Sprintf("tcp@10.0.0.%d:8972", id))
}

func (f *fakeNet) server(key string) *fakeServer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.servers[key]
}

func (f *fakeNet) pairs(meta ...string) []*KVPair {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*KVPair
	for id := 0; id < len(f.servers); id++ {
		p := &KVPair{Key: fmt.Sprintf("tcp@10.0.0.%d:8972", id)}
		if id < len(meta) {
			p.Value = meta[id]
		}
		out = append(out, p)
	}
	return out
}

func (f *fakeNet) totalHits() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, s := range f.servers {
		n += s.hits.Load()
	}
	return n
}

// factory returns the RPCClient factory of an XClient on this network.
func (f *fakeNet) factory() func(Option, PluginContainer) RPCClient {
	return func(opt Option, p PluginContainer) RPCClient { return &fakeClient{net: f, plugins: p} }
}

// fakeClient is an RPCClient connected to a fakeServer.
type fakeClient struct {
	net      *fakeNet
	plugins  PluginContainer
	srv      *fakeServer
	shutdown atomic.Bool
	closing  atomic.Bool
	closes   atomic.Int64
}

func (c *fakeClient) Connect(network, address string) error {
	s := c.net.server(network + "@" + address)
	if s == nil {
		return fmt.Errorf("dial %s: %w", address, errRefused)
	}
	s.dials.Add(1)
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxInflight.Load()
		if n <= m || s.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	if s.dialGate != nil {
		<-s.dialGate
	}
	if s.refuse.Load() {
		c.plugins.DoConnCreateFailed(network, address)
		return fmt.Errorf("dial %s: %w", address, errRefused)
	}
	c.srv = s
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	if _, err := c.plugins.DoClientConnected(nil); err != nil {
		return err
	}
	return nil
}

func (c *fakeClient) Call(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}) error {
	if c.shutdown.Load() {
		return ErrShutdown
	}
	c.srv.hits.Add(1)
	c.srv.mu.Lock()
	b := c.srv.behave
	if md, ok := ctx.Value(share.ReqMetaDataKey).(map[string]string); ok {
		c.srv.lastMeta = md
	}
	c.srv.mu.Unlock()
	return b(ctx, c, serviceMethod, args, reply)
}

func (c *fakeClient) Go(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, done chan *Call) *Call {
	call := &Call{ServicePath: servicePath, ServiceMethod: serviceMethod, Args: args, Reply: reply, Done: done}
	call.Error = c.Call(ctx, servicePath, serviceMethod, args, reply)
	done <- call
	return call
}

func (c *fakeClient) SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error) {
	if err := c.Call(ctx, r.ServicePath, r.ServiceMethod, nil, nil); err != nil {
		return nil, nil, err
	}
	return map[string]string{"server": c.srv.key}, r.Payload, nil
}

func (c *fakeClient) Close() error {
	c.closes.Add(1)
	c.shutdown.Store(true)
	return nil
}

func (c *fakeClient) RemoteAddr() string                                    { return c.srv.key }
func (c *fakeClient) RegisterServerMessageChan(ch chan<- *protocol.Message) {}
func (c *fakeClient) UnregisterServerMessageChan()                          {}
func (c *fakeClient) IsClosing() bool                                       { return c.closing.Load() }
func (c *fakeClient) IsShutdown() bool                                      { return c.shutdown.Load() }
func (c *fakeClient) GetConn() net.Conn                                     { return nil }

// newFakeXClient returns an XClient over f's servers (all of them unless
// pairs are given), closed at cleanup.
func newFakeXClient(t *testing.T, f *fakeNet, fm FailMode, sm SelectMode, opt Option, pairs ...*KVPair) (*xClient, *MultipleServersDiscovery) {
	t.Helper()
	if pairs == nil {
		pairs = f.pairs()
	}
	d, err := NewMultipleServersDiscovery(pairs)
	if err != nil {
		t.Fatal(err)
	}
	x := newXClient("Arith", fm, sm, d, opt, nil, f.factory())
	t.Cleanup(func() { x.Close(); d.Close() })
	return x, d
}

// pollUntil polls cond until it holds or d passes.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
