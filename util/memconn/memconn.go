// Package memconn is an in-process network: listeners registered by name in
// this process and connections made of net.Pipe pairs. The server's and the
// client's "memu" network use it, so a server can be called in the same
// process without a socket.
package memconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Errors of the in-memory network.
var (
	// ErrAddrInUse means a listener with that name already exists.
	ErrAddrInUse = errors.New("memconn: address already in use")
	// ErrRefused means no listener has that name.
	ErrRefused = errors.New("memconn: connection refused")
	// ErrClosed means the listener is closed.
	ErrClosed = errors.New("memconn: listener closed")
)

var (
	mu        sync.Mutex
	listeners = map[string]*Listener{}
)

// Addr is the address of an in-memory endpoint.
type Addr string

// Network returns "memu".
func (Addr) Network() string { return "memu" }

// String returns the name.
func (a Addr) String() string { return string(a) }

// Listener accepts in-memory connections. It is safe for concurrent use.
type Listener struct {
	name   string
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

// Listen registers a listener under name.
func Listen(name string) (*Listener, error) {
	mu.Lock()
	defer mu.Unlock()
	if _, ok := listeners[name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrAddrInUse, name)
	}
	l := &Listener{name: name, conns: make(chan net.Conn), done: make(chan struct{})}
	listeners[name] = l
	return l, nil
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, fmt.Errorf("%w: %s", ErrClosed, l.name)
	}
}

// Close unregisters the listener; Accept and pending dials return errors.
func (l *Listener) Close() error {
	l.closed.Do(func() {
		mu.Lock()
		if listeners[l.name] == l {
			delete(listeners, l.name)
		}
		mu.Unlock()
		close(l.done)
	})
	return nil
}

// Addr returns the listener's name as an address.
func (l *Listener) Addr() net.Addr { return Addr(l.name) }

// Dial connects to the listener registered under name.
func Dial(name string) (net.Conn, error) { return DialContext(context.Background(), name) }

// DialContext connects to the listener registered under name, waiting for it
// to accept until ctx is done.
func DialContext(ctx context.Context, name string) (net.Conn, error) {
	mu.Lock()
	l := listeners[name]
	mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("%w: %s", ErrRefused, name)
	}
	c1, c2 := net.Pipe()
	select {
	case l.conns <- &conn{Conn: c2, local: Addr(name), remote: Addr(name + "-client")}:
		return &conn{Conn: c1, local: Addr(name + "-client"), remote: Addr(name)}, nil
	case <-l.done:
		c1.Close()
		c2.Close()
		return nil, fmt.Errorf("%w: %s", ErrRefused, name)
	case <-ctx.Done():
		c1.Close()
		c2.Close()
		return nil, ctx.Err()
	}
}

type conn struct {
	net.Conn
	local, remote net.Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }
