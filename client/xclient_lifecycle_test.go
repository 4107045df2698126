package client_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
)

// TestIntegrationDiscoveryUpdatesUnderLoad: 100 callers run while a server
// leaves discovery and another joins. No call fails, the removed server's
// connection is closed, and the new server gets traffic.
func TestIntegrationDiscoveryUpdatesUnderLoad(t *testing.T) {
	a, b, c := startNode(t, 0, ""), startNode(t, 1, ""), startNode(t, 2, "")
	x, d := newXC(t, client.Failover, client.RoundRobin, client.DefaultOption, a, b)
	var failed, calls atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 100; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				arg, reply := i, -1
				if err := x.Call(t.Context(), "Who", &arg, &reply); err != nil {
					failed.Add(1)
					t.Errorf("call: %v", err)
					return
				}
				calls.Add(1)
			}
		}()
	}
	pollUntil(t, 10*time.Second, "traffic on a", func() bool { return a.svc.hits.Load() > 200 && b.svc.hits.Load() > 200 })
	d.Update(pairsOf(b, c)) // a leaves, c joins
	pollUntil(t, 10*time.Second, "a's connection closed", func() bool { return a.conns() == 0 })
	// Requests a already read before its connection closed may still run;
	// take the count once c has taken traffic, then a must get no more.
	pollUntil(t, 10*time.Second, "traffic on c", func() bool { return c.svc.hits.Load() > 200 })
	hitsA := a.svc.hits.Load()
	pollUntil(t, 10*time.Second, "more traffic on c", func() bool { return c.svc.hits.Load() > 400 })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d calls failed", failed.Load(), calls.Load())
	}
	if a.svc.hits.Load() != hitsA {
		t.Fatal("removed server still called")
	}
	t.Logf("%d calls from 100 callers across a discovery change, 0 failed", calls.Load())
}

// TestIntegrationRestart covers scenarios 7 and 8: a server restarted on
// the same address serves Call, Go, Broadcast and Fork again within the
// reconnect backoff, and with Failover over two servers traffic follows
// the one that is up.
func TestIntegrationRestart(t *testing.T) {
	a, b := startNode(t, 0, ""), startNode(t, 1, "")
	opt := client.DefaultOption
	opt.Retries = 1
	single, _ := newXC(t, client.Failover, client.RandomSelect, opt, a)
	call := func(x client.XClient) error {
		arg, reply := 1, 0
		return x.Call(t.Context(), "Who", &arg, &reply)
	}
	if err := call(single); err != nil {
		t.Fatal(err)
	}
	a.stop()
	if err := call(single); err == nil {
		t.Fatal("call to a stopped server succeeded")
	}
	a.restart()
	start := time.Now()
	ops := map[string]func() error{
		"call": func() error { return call(single) },
		"go": func() error {
			arg, reply := 1, 0
			c, err := single.Go(t.Context(), "Who", &arg, &reply, nil)
			if err != nil {
				return err
			}
			return (<-c.Done).Error
		},
		"broadcast": func() error { arg, reply := 1, 0; return single.Broadcast(t.Context(), "Who", &arg, &reply) },
		"fork":      func() error { arg, reply := 1, 0; return single.Fork(t.Context(), "Who", &arg, &reply) },
	}
	for name, op := range ops {
		pollUntil(t, 10*time.Second, name+" after restart", func() bool { return op() == nil })
	}
	t.Logf("all operations succeed %v after the restart", time.Since(start).Round(time.Millisecond))

	// Scenario 8: kill a, restart it, then kill b: traffic moves to a.
	pair, _ := newXC(t, client.Failover, client.RoundRobin, opt, a, b)
	for i := 0; i < 4; i++ {
		if err := call(pair); err != nil {
			t.Fatal(err)
		}
	}
	a.stop()
	for i := 0; i < 10; i++ {
		if err := call(pair); err != nil {
			t.Fatalf("with a down: %v", err)
		}
	}
	a.restart()
	b.stop()
	before := a.svc.hits.Load()
	pollUntil(t, 10*time.Second, "traffic back on a", func() bool { return call(pair) == nil && a.svc.hits.Load() > before })
	for i := 0; i < 10; i++ {
		if err := call(pair); err != nil {
			t.Fatalf("with b down: %v", err)
		}
	}
}

// TestIntegrationDownServerDials is scenario 6 with a real address: 1,000
// concurrent calls to a down server make few dials (one in flight at a
// time, then backoff), and once it is up one connection serves them.
func TestIntegrationDownServerDials(t *testing.T) {
	n := startNode(t, 0, "")
	x, _ := newXC(t, client.Failfast, client.RandomSelect, client.DefaultOption, n)
	var failedDials atomic.Int64
	pc := client.NewPluginContainer()
	pc.Add(dialFailCounter{&failedDials})
	x.SetPlugins(pc)
	n.stop()
	var wg sync.WaitGroup
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arg, reply := 1, 0
			_ = x.Call(t.Context(), "Who", &arg, &reply)
		}()
	}
	wg.Wait()
	t.Logf("1000 concurrent calls to a down server: %d dials", failedDials.Load())
	if failedDials.Load() > 5 {
		t.Fatalf("%d dials", failedDials.Load())
	}
	n.restart()
	pollUntil(t, 10*time.Second, "reconnect", func() bool {
		arg, reply := 1, 0
		return x.Call(t.Context(), "Who", &arg, &reply) == nil
	})
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arg, reply := 1, 0
			if err := x.Call(t.Context(), "Who", &arg, &reply); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if c := n.conns(); c != 1 {
		t.Fatalf("%d connections to the server", c)
	}
}

type dialFailCounter struct{ n *atomic.Int64 }

func (d dialFailCounter) ConnCreateFailed(network, address string) { d.n.Add(1) }

// TestIntegrationReentrantPlugin is scenario 23 with real connections: a
// ClientConnected hook that Broadcasts on the same XClient completes
// within 1s.
func TestIntegrationReentrantPlugin(t *testing.T) {
	a, b := startNode(t, 0, ""), startNode(t, 1, "")
	x, _ := newXC(t, client.Failover, client.RoundRobin, client.DefaultOption, a, b)
	results := make(chan error, 4)
	pc := client.NewPluginContainer()
	pc.Add(onConnected(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		arg, reply := 1, 0
		results <- x.Broadcast(ctx, "Who", &arg, &reply)
	}))
	x.SetPlugins(pc)
	done := make(chan error, 1)
	go func() { arg, reply := 1, 0; done <- x.Call(t.Context(), "Who", &arg, &reply) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("call deadlocked")
	}
	for i := 0; i < 2; i++ {
		select {
		case <-results:
		case <-time.After(2 * time.Second):
			t.Fatal("reentrant Broadcast did not complete")
		}
	}
}

type onConnected func()

func (f onConnected) ClientConnected(c net.Conn) (net.Conn, error) { f(); return c, nil }

func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
