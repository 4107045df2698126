package main

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/server"
	rserver "github.com/smallnest/rpcx/server"
)

// Req and Rep are the arguments and reply of Svc.Work (msgpack on both
// frameworks).
type Req struct{ N int }

// Rep is Svc.Work's reply.
type Rep struct{ N int }

// behaviour is what one server does with each call.
type behaviour struct {
	delay      time.Duration // extra latency of every call
	capacity   int           // > 0: at most capacity calls hold hold at once
	hold       time.Duration
	overloaded bool // answer every call with the overloaded error
}

// Svc is the service of every scenario; both frameworks find Work by
// reflection.
type Svc struct {
	b    behaviour
	sem  chan struct{}
	hits atomic.Int64
	// overloadErr is the error an overloaded Svc returns: courier's coded
	// ErrOverloaded or a plain error for rpcx.
	overloadErr error
}

func newSvc(b behaviour, overloadErr error) *Svc {
	s := &Svc{b: b, overloadErr: overloadErr}
	if b.capacity > 0 {
		s.sem = make(chan struct{}, b.capacity)
	}
	return s
}

// Work answers N after the behaviour's delay or capacity wait.
func (s *Svc) Work(ctx context.Context, args *Req, reply *Rep) error {
	s.hits.Add(1)
	if s.b.overloaded {
		return s.overloadErr
	}
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		time.Sleep(s.b.hold)
		<-s.sem
	}
	if s.b.delay > 0 {
		time.Sleep(s.b.delay)
	}
	reply.N = args.N
	return nil
}

// node is one running server of either framework.
type node struct {
	addr    string
	svc     *Svc
	accepts *atomic.Int64 // connections accepted (resetting listener only)
	courier *server.Server
	stop    func()
}

// resetListener accepts connections and resets them at once (SO_LINGER 0).
type resetListener struct {
	net.Listener
	accepts *atomic.Int64
}

// Accept resets every connection and waits for the next, until the
// listener is closed.
func (l resetListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.accepts.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

func listen(reset bool) (net.Listener, *atomic.Int64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	accepts := new(atomic.Int64)
	if reset {
		return resetListener{ln, accepts}, accepts, nil
	}
	return ln, accepts, nil
}

// startCourier serves a Svc with b on a courier server with opts.
func startCourier(b behaviour, reset bool, opts ...server.OptionFn) (*node, error) {
	ln, accepts, err := listen(reset)
	if err != nil {
		return nil, err
	}
	svc := newSvc(b, server.ErrOverloaded)
	s := server.NewServer(opts...)
	if err := s.RegisterName("Svc", svc, ""); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeListener("tcp", ln) }()
	if !reset {
		<-s.Started
	}
	return &node{addr: ln.Addr().String(), svc: svc, accepts: accepts, courier: s, stop: func() {
		_ = s.Close()
		_ = ln.Close()
		<-done
	}}, nil
}

// startRpcx serves a Svc with b on an rpcx v1.9.1 server.
func startRpcx(b behaviour, reset bool) (*node, error) {
	ln, accepts, err := listen(reset)
	if err != nil {
		return nil, err
	}
	svc := newSvc(b, errors.New("server is overloaded"))
	s := rserver.NewServer()
	if err := s.RegisterName("Svc", svc, ""); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeListener("tcp", ln) }()
	return &node{addr: ln.Addr().String(), svc: svc, accepts: accepts, stop: func() {
		_ = s.Close()
		_ = ln.Close()
		<-done
	}}, nil
}

// cluster is the servers of one run.
type cluster []*node

func (c cluster) stop() {
	for _, n := range c {
		n.stop()
	}
}

func (c cluster) addrs() []string {
	out := make([]string, len(c))
	for i, n := range c {
		out[i] = n.addr
	}
	return out
}

// attempts counts the requests the servers saw: handler runs plus the
// connections the resetting listener accepted.
func (c cluster) attempts() int64 {
	var n int64
	for _, nd := range c {
		n += nd.svc.hits.Load() + nd.accepts.Load()
	}
	return n
}
