package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/util/memconn"
)

func TestClientConnectErrors(t *testing.T) {
	_, cliTLS := testTLS(t)
	plain := startTestServer(t, "tcp", nil)
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	// A memu listener that accepts and never answers a TLS handshake.
	mute, err := memconn.Listen("clienttest-mute")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mute.Close() })
	var muteConns sync.WaitGroup
	muteConns.Add(1)
	go func() {
		defer muteConns.Done()
		c, err := mute.Accept()
		if err == nil {
			buf := make([]byte, 1024)
			for {
				if _, err := c.Read(buf); err != nil {
					c.Close()
					return
				}
			}
		}
	}()
	t.Cleanup(muteConns.Wait)

	tests := []struct {
		name, network, addr string
		tls                 *tls.Config
		want                string
	}{
		{"unknown network", "carrier-pigeon", "x", nil, "unsupported network"},
		{"refused", "tcp", refusedAddr, nil, "refused"},
		{"memu refused", "memu", "clienttest-nobody", nil, "refused"},
		{"tls against plain server", "tcp", plain.addr, cliTLS, "tls"},
		{"tls handshake timeout", "memu", "clienttest-mute", &tls.Config{InsecureSkipVerify: true}, "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := DefaultOption
			opt.TLSConfig = tt.tls
			opt.ConnectTimeout = 200 * time.Millisecond
			c := NewClient(opt)
			var failed atomic.Int64
			c.Plugins = NewPluginContainer()
			c.Plugins.Add(failPlugin{&failed})
			start := time.Now()
			err := c.Connect(tt.network, tt.addr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("connect took %v", d)
			}
			if failed.Load() != 1 {
				t.Fatalf("ConnCreateFailed ran %d times", failed.Load())
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type failPlugin struct{ n *atomic.Int64 }

func (p failPlugin) ConnCreateFailed(network, address string) { p.n.Add(1) }

// countingConn counts bytes written through a plugin-wrapped connection.
type countingConn struct {
	net.Conn
	written *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.written.Add(int64(len(b)))
	return c.Conn.Write(b)
}

type lifecyclePlugin struct {
	written, closed, before, after atomic.Int64
	client                         *Client
	connectedErr                   chan error
}

func (p *lifecyclePlugin) ConnCreated(c net.Conn) (net.Conn, error) {
	return countingConn{Conn: c, written: &p.written}, nil
}

// ClientConnected calls back into the client (scenario 23, rpcx#582).
func (p *lifecyclePlugin) ClientConnected(c net.Conn) (net.Conn, error) {
	p.connectedErr <- p.client.Call(context.Background(), "S", "Echo", &echoArgs{}, new(ignored))
	return c, nil
}

func (p *lifecyclePlugin) ClientConnectionClose(net.Conn) error { p.closed.Add(1); return nil }

func (p *lifecyclePlugin) ClientBeforeEncode(m *protocol.Message) error {
	p.before.Add(1)
	return nil
}

func (p *lifecyclePlugin) ClientAfterDecode(m *protocol.Message) error {
	p.after.Add(1)
	return nil
}

func TestClientPlugins(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := NewClient(DefaultOption)
	p := &lifecyclePlugin{client: c, connectedErr: make(chan error, 1)}
	c.Plugins = NewPluginContainer()
	c.Plugins.Add(p)
	done := make(chan error, 1)
	go func() { done <- c.Connect(s.network, s.addr) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("a ClientConnected hook calling the client deadlocks")
	}
	if err := <-p.connectedErr; err != nil {
		t.Fatalf("call from ClientConnected: %v", err)
	}
	if err := c.Call(context.Background(), "S", "Echo", &echoArgs{}, new(ignored)); err != nil {
		t.Fatal(err)
	}
	if p.written.Load() == 0 || p.before.Load() != 2 || p.after.Load() != 2 {
		t.Fatalf("written %d, before %d, after %d", p.written.Load(), p.before.Load(), p.after.Load())
	}
	c.Close()
	c.Close()
	if p.closed.Load() != 1 {
		t.Fatalf("ClientConnectionClose ran %d times", p.closed.Load())
	}
}

type rejectPlugin struct{}

func (rejectPlugin) ClientBeforeEncode(*protocol.Message) error { return errors.New("nope") }

func TestClientBeforeEncodeError(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := NewClient(DefaultOption)
	c.Plugins = NewPluginContainer()
	c.Plugins.Add(rejectPlugin{})
	if err := c.Connect(s.network, s.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Call(context.Background(), "S", "Echo", &echoArgs{}, new(ignored)); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v", err)
	}
	if c.pendingLen() != 0 {
		t.Fatal("rejected call left pending")
	}
}

func TestConnFactories(t *testing.T) {
	for _, n := range []string{"tcp", "tcp4", "tcp6", "unix", "memu"} {
		if ConnFactories[n] == nil {
			t.Errorf("network %q not registered", n)
		}
	}
}

// codecHookPlugin counts the encode and decode hooks.
type codecHookPlugin struct{ before, after atomic.Int64 }

func (p *codecHookPlugin) ClientBeforeEncode(*protocol.Message) error { p.before.Add(1); return nil }
func (p *codecHookPlugin) ClientAfterDecode(*protocol.Message) error  { p.after.Add(1); return nil }

// TestXClientCodecHooksAddedLater checks that the encode and decode hooks
// of a plugin added to an XClient after its connection was made run on
// that connection: the connection skips the hooks only while its
// XClient's container has none.
func TestXClientCodecHooksAddedLater(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	d, err := NewPeer2PeerDiscovery("memu@"+s.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	x := NewXClient("S", Failfast, RandomSelect, d, DefaultOption)
	defer x.Close()
	call := func() {
		t.Helper()
		if err := x.Call(context.Background(), "Echo", &echoArgs{}, new(ignored)); err != nil {
			t.Fatal(err)
		}
	}
	call() // connects, with no plugin
	p := &codecHookPlugin{}
	x.GetPlugins().Add(p)
	call()
	call()
	if p.before.Load() != 2 || p.after.Load() != 2 {
		t.Fatalf("before %d, after %d; want 2 and 2", p.before.Load(), p.after.Load())
	}
	x.GetPlugins().Remove(p)
	call()
	if p.before.Load() != 2 || p.after.Load() != 2 {
		t.Fatalf("after Remove: before %d, after %d; want 2 and 2", p.before.Load(), p.after.Load())
	}
}
