package client_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// TestIntegrationNonIdempotentNeverTwice: a method declared non-idempotent
// (by the client's option or by the server's registration metadata) whose
// server drops the connection after running it is never sent again, in
// any fail mode; the same method left idempotent is retried by Failover.
func TestIntegrationNonIdempotentNeverTwice(t *testing.T) {
	for _, how := range []string{"option", "server"} {
		meta := ""
		if how == "server" {
			meta = server.NonIdempotent("Kill")
		}
		nodes := []*node{startNode(t, 0, meta), startNode(t, 1, meta), startNode(t, 2, meta)}
		hits := func() (n int64) {
			for _, nd := range nodes {
				n += nd.svc.hits.Swap(0)
			}
			return n
		}
		for _, fm := range client.FailModeValues() {
			t.Run(how+"/"+fm.String(), func(t *testing.T) {
				opt := client.DefaultOption
				opt.BackupLatency = time.Millisecond
				if how == "option" {
					opt.NonIdempotent = []string{"Kill"}
				}
				x, _ := newXC(t, fm, client.RoundRobin, opt, nodes...)
				hits()
				a, reply := 1, 0
				if err := x.Call(t.Context(), "Kill", &a, &reply); !errors.Is(err, client.ErrShutdown) {
					t.Fatalf("err %v, want ErrShutdown", err)
				}
				if n := hits(); n != 1 {
					t.Fatalf("non-idempotent Kill ran %d times", n)
				}
			})
		}
	}
	t.Run("idempotent/Failover", func(t *testing.T) {
		nodes := []*node{startNode(t, 0, ""), startNode(t, 1, "")}
		opt := client.DefaultOption
		opt.Retries = 1
		x, _ := newXC(t, client.Failover, client.RoundRobin, opt, nodes...)
		a, reply := 1, 0
		_ = x.Call(t.Context(), "Kill", &a, &reply)
		if n := nodes[0].svc.hits.Load() + nodes[1].svc.hits.Load(); n != 2 {
			t.Fatalf("idempotent Kill ran %d times, want 2 (Retries=1)", n)
		}
	})
}

// TestIntegrationFailoverServerDiesMidCall: an rpcx-style program (default
// options, Failover) whose server dies while a call runs there (its
// handler never returns; the server closes every connection) gets the
// answer from the other server.
func TestIntegrationFailoverServerDiesMidCall(t *testing.T) {
	dying := &blockService{id: 0, entered: make(chan struct{}, 4), release: make(chan struct{})}
	s, addrA, done := serveBlock(t, dying)
	defer close(dying.release)
	alive := &blockService{id: 1, entered: make(chan struct{}, 4), release: make(chan struct{})}
	close(alive.release)
	_, addrB, _ := serveBlock(t, alive)
	d, err := client.NewMultipleServersDiscovery([]*client.KVPair{{Key: "tcp@" + addrA}, {Key: "tcp@" + addrB}})
	if err != nil {
		t.Fatal(err)
	}
	x := client.NewXClient("Who", client.Failover, client.RoundRobin, d, client.DefaultOption)
	defer func() { x.Close(); d.Close() }()
	const calls = 2
	replies, errs := make(chan int, calls), make(chan error, calls)
	for range calls { // round robin: one call on each server
		go func() {
			a, reply := 0, -1
			if err := x.Call(t.Context(), "Block", &a, &reply); err != nil {
				errs <- err
				return
			}
			replies <- reply
		}()
	}
	<-dying.entered
	s.Close() // dies mid-call
	<-done
	for range calls {
		select {
		case err := <-errs:
			t.Fatalf("call failed: %v", err)
		case r := <-replies:
			if r != 1 {
				t.Fatalf("reply from server %d", r)
			}
		}
	}
}

// serveBlock serves svc as "Who" on a loopback port until the test ends.
func serveBlock(t *testing.T, svc *blockService, opts ...server.OptionFn) (*server.Server, string, chan error) {
	t.Helper()
	s := server.NewServer(opts...)
	if err := s.RegisterName("Who", svc, ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeListener("tcp", ln) }()
	<-s.Started
	t.Cleanup(func() { s.Close() })
	return s, ln.Addr().String(), done
}

// blockService holds its Block calls until release is closed, whatever
// their ctx says, then answers its id.
type blockService struct {
	id      int
	entered chan struct{}
	release chan struct{}
	hits    atomic.Int64
}

func (s *blockService) Block(ctx context.Context, args *int, reply *int) error {
	s.entered <- struct{}{}
	<-s.release
	*reply = s.id
	return nil
}

func (s *blockService) Who(ctx context.Context, args *int, reply *int) error {
	s.hits.Add(1)
	*reply = 99
	return nil
}

// TestIntegrationOverloadedGoesElsewhere: a server at its in-flight cap
// refuses with the overloaded code; even Failfast sends the call to the
// other server (a transparent retry), and the refusing server is ejected.
func TestIntegrationOverloadedGoesElsewhere(t *testing.T) {
	busy := &blockService{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s, addr, _ := serveBlock(t, busy, server.WithMaxInFlight(1))
	// Fill the busy server's only slot.
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", addr); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	blocked := make(chan error, 1)
	go func() { a, r := 0, 0; blocked <- c.Call(context.Background(), "Who", "Block", &a, &r) }()
	<-busy.entered
	defer func() { close(busy.release); <-blocked }()

	healthy := startNode(t, 1, "")
	d, err := client.NewMultipleServersDiscovery([]*client.KVPair{{Key: "tcp@" + addr}, {Key: healthy.key()}})
	if err != nil {
		t.Fatal(err)
	}
	x := client.NewXClient("Who", client.Failfast, client.RoundRobin, d, client.DefaultOption)
	defer func() { x.Close(); d.Close() }()
	for i := range 20 {
		a, reply := i, -1
		if err := x.Call(t.Context(), "Who", &a, &reply); err != nil || reply != 1 {
			t.Fatalf("call %d: reply %d err %v, want the healthy server", i, reply, err)
		}
	}
	st := x.Stats()
	if busy.hits.Load() != 0 || st.Overloaded != 1 || st.TransparentRetries != 1 || st.Ejections != 1 {
		t.Fatalf("busy server ran %d calls; stats %+v: want 1 refusal, 1 transparent retry, 1 ejection", busy.hits.Load(), st)
	}
	if s.Stats().Shed != 1 {
		t.Fatalf("server shed %d, want 1", s.Stats().Shed)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
}
