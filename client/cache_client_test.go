package client

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestSingleDial is scenario 6: 1,000 concurrent calls to a down server
// make one dial, successive dials follow the backoff, and once the server
// is back one connection serves everybody.
func TestSingleDial(t *testing.T) {
	f := newFakeNet(1)
	s := f.get(0)
	s.refuse.Store(true)
	s.dialGate = make(chan struct{})
	x, _ := newFakeXClient(t, f, Failover, RandomSelect, DefaultOption)
	clk := &fakeClock{t: time.Unix(1000, 0)}
	x.cache.now = clk.now
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var reply int
			errs <- x.Call(t.Context(), "Mul", 1, &reply)
		}()
	}
	pollUntil(t, 5*time.Second, "first dial", func() bool { return s.dials.Load() == 1 })
	close(s.dialGate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil {
			t.Fatal("call to a down server succeeded")
		}
	}
	if n, m := s.dials.Load(), s.maxInflight.Load(); n != 1 || m != 1 {
		t.Fatalf("%d dials (%d at once) for 1000 callers", n, m)
	}
	// Successive dials follow the backoff: 20ms, then 40ms.
	var reply int
	if err := x.Call(t.Context(), "Mul", 1, &reply); !errors.Is(err, ErrServerUnavailable) {
		t.Fatalf("in backoff: %v", err)
	}
	steps := []struct {
		advance time.Duration
		dials   int64
	}{{dialBackoffBase, 2}, {dialBackoffBase, 2}, {dialBackoffBase, 3}, {dialBackoffBase, 3}, {3 * dialBackoffBase, 4}}
	for i, st := range steps {
		clk.add(st.advance)
		_ = x.Call(t.Context(), "Mul", 1, &reply)
		if n := s.dials.Load(); n != st.dials {
			t.Fatalf("step %d: %d dials, want %d", i, n, st.dials)
		}
	}
	// Back up: the next call after the backoff succeeds, on one connection.
	s.refuse.Store(false)
	clk.add(dialBackoffMax)
	for i := 0; i < 100; i++ {
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	conns := len(s.clients)
	s.mu.Unlock()
	if conns != 1 {
		t.Fatalf("%d connections", conns)
	}
}

// TestConnectionReplaced checks a shut-down client is closed and redialed,
// a draining one is left to finish and closed once it shuts down, and a
// server leaving discovery gets its connection closed.
func TestConnectionReplaced(t *testing.T) {
	f := newFakeNet(2)
	opt := DefaultOption
	x, d := newFakeXClient(t, f, Failover, RoundRobin, opt)
	var reply int
	for i := 0; i < 4; i++ {
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
			t.Fatal(err)
		}
	}
	s0 := f.get(0)
	s0.mu.Lock()
	c0 := s0.clients[0]
	s0.mu.Unlock()
	c0.closing.Store(true) // drain notice
	for i := 0; i < 4; i++ {
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
			t.Fatal(err)
		}
	}
	if s0.dials.Load() != 2 || c0.closes.Load() != 0 {
		t.Fatalf("drain: dials %d closes %d", s0.dials.Load(), c0.closes.Load())
	}
	c0.shutdown.Store(true) // in-flight calls done, connection gone
	for i := 0; i < 4; i++ {
		_ = x.Call(t.Context(), "Mul", 1, &reply)
	}
	pollUntil(t, 10*time.Second, "retired client closed", func() bool { return c0.closes.Load() == 1 })

	// Server 1 leaves discovery: its connection is closed, calls keep working.
	s1 := f.get(1)
	s1.mu.Lock()
	c1 := s1.clients[0]
	s1.mu.Unlock()
	d.Update([]*KVPair{{Key: s0.key}})
	pollUntil(t, 10*time.Second, "removed server closed", func() bool { return c1.closes.Load() == 1 })
	hits := s1.hits.Load()
	for i := 0; i < 10; i++ {
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil || reply != 0 {
			t.Fatalf("after removal: %v from %d", err, reply)
		}
	}
	if s1.hits.Load() != hits {
		t.Fatal("removed server still called")
	}
}

type mapBuilder struct {
	mu        sync.Mutex
	gen, del  int
	cached    RPCClient
	newClient func() RPCClient
}

func (b *mapBuilder) SetCachedClient(c RPCClient, k, sp, sm string) {
	b.mu.Lock()
	b.cached = c
	b.mu.Unlock()
}
func (b *mapBuilder) FindCachedClient(k, sp, sm string) RPCClient {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cached
}
func (b *mapBuilder) DeleteCachedClient(c RPCClient, k, sp, sm string) {
	b.mu.Lock()
	b.del++
	b.cached = nil
	b.mu.Unlock()
}
func (b *mapBuilder) GenerateClient(k, sp, sm string) (RPCClient, error) {
	b.mu.Lock()
	b.gen++
	b.mu.Unlock()
	return b.newClient(), nil
}

func TestCacheClientBuilder(t *testing.T) {
	f := newFakeNet(1)
	srv := f.get(0)
	b := &mapBuilder{newClient: func() RPCClient { return &fakeClient{net: f, srv: srv} }}
	RegisterCacheClientBuilder("fakebuilder", b)
	t.Cleanup(func() { RegisterCacheClientBuilder("fakebuilder", nil) })
	x, _ := newFakeXClient(t, f, Failfast, RandomSelect, DefaultOption, &KVPair{Key: "fakebuilder@x"})
	var reply int
	for i := 0; i < 3; i++ {
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	b.cached.(*fakeClient).shutdown.Store(true)
	b.mu.Unlock()
	if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil {
		t.Fatal(err)
	}
	if b.gen != 2 || b.del != 1 {
		t.Fatalf("generated %d deleted %d", b.gen, b.del)
	}
}

// TestCacheClientBuilderLater checks that a CacheClientBuilder registered
// after the cache dialed a server of its network takes the server's calls
// over: the lock-free path must not keep serving the cached client.
func TestCacheClientBuilderLater(t *testing.T) {
	f := newFakeNet(1)
	dialed := &fakeServer{key: "latebuilder@10.9.9.9:1", id: 41, behave: answerID}
	built := f.get(0) // id 0
	f.mu.Lock()
	f.servers[dialed.key] = dialed
	f.mu.Unlock()
	x, _ := newFakeXClient(t, f, Failfast, RandomSelect, DefaultOption, &KVPair{Key: dialed.key})
	var reply int
	for range 3 {
		if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil || reply != 41 {
			t.Fatalf("before the builder: reply %d, err %v", reply, err)
		}
	}
	b := &mapBuilder{newClient: func() RPCClient { return &fakeClient{net: f, srv: built} }}
	RegisterCacheClientBuilder("latebuilder", b)
	t.Cleanup(func() { RegisterCacheClientBuilder("latebuilder", nil) })
	if err := x.Call(t.Context(), "Mul", 1, &reply); err != nil || reply != 0 {
		t.Fatalf("after the builder: reply %d, err %v; want the builder's client (0)", reply, err)
	}
	if b.gen != 1 {
		t.Fatalf("builder generated %d clients, want 1", b.gen)
	}
}
