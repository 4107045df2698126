package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
)

// transportCase is one network of the transport test matrix. Tagged test
// files (quic, kcp) add their cases from init functions.
type transportCase struct {
	name       string
	network    string
	address    func(t *testing.T) string
	serverOpts func(t *testing.T) []server.OptionFn
	clientOpt  func(t *testing.T, o *client.Option)
}

var transportCases = []transportCase{
	{name: "tcp", network: "tcp", address: loopback4},
	{name: "tcp6", network: "tcp", address: loopback6},
	{name: "unix", network: "unix", address: unixPath},
	{name: "reuseport", network: "reuseport", address: loopback4},
	{name: "reuseport6", network: "reuseport", address: loopback6},
	{name: "tls", network: "tcp", address: loopback4, serverOpts: tlsServer(false), clientOpt: tlsClient(false)},
	{name: "tls6", network: "tcp", address: loopback6, serverOpts: tlsServer(false), clientOpt: tlsClient(false)},
	{name: "mtls", network: "tcp", address: loopback4, serverOpts: tlsServer(true), clientOpt: tlsClient(true)},
	{name: "unix-mtls", network: "unix", address: unixPath, serverOpts: tlsServer(true), clientOpt: tlsClient(true)},
	{name: "reuseport-mtls", network: "reuseport", address: loopback4, serverOpts: tlsServer(true), clientOpt: tlsClient(true)},
}

func loopback4(*testing.T) string { return "127.0.0.1:0" }

// loopback6 returns [::1]:0, skipping the test when the machine has no
// IPv6 loopback.
func loopback6(t *testing.T) string {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	return "[::1]:0"
}

func unixPath(t *testing.T) string {
	dir, err := os.MkdirTemp("", "crt") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s.sock")
}

func tlsPair(t *testing.T) *testutils.TLSPair {
	t.Helper()
	p, err := testutils.TLS()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tlsServer(mutual bool) func(t *testing.T) []server.OptionFn {
	return func(t *testing.T) []server.OptionFn {
		return []server.OptionFn{server.WithTLSConfig(tlsPair(t).ServerConfig(mutual))}
	}
}

func tlsClient(mutual bool) func(t *testing.T, o *client.Option) {
	return func(t *testing.T, o *client.Option) { o.TLSConfig = tlsPair(t).ClientConfig(mutual) }
}

// serveOn starts s on network/address and returns the address clients
// dial. The server is closed at cleanup.
func serveOn(t *testing.T, s *server.Server, network, address string) string {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(network, address) }()
	select {
	case <-s.Started:
	case err := <-errc:
		t.Fatalf("serve %s %s: %v", network, address, err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start within 10s")
	}
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve returned %v, want ErrServerClosed", err)
		}
	})
	return s.Address().String()
}

// newPushServer returns a server with Arith and Push.Echo, which sends the
// request string as a notification and then returns it as the reply.
func newPushServer(t *testing.T, opts ...server.OptionFn) *server.Server {
	t.Helper()
	s := server.NewServer(opts...)
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	err := server.Handle(s, "Push", "Echo", func(ctx context.Context, req *string, res *string) error {
		conn := ctx.Value(server.RemoteConnContextKey).(net.Conn)
		if err := s.SendMessage(conn, "Push", "M", nil, []byte(*req)); err != nil {
			return err
		}
		*res = *req
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func connect(t *testing.T, opt client.Option, network, addr string) *client.Client {
	t.Helper()
	c := client.NewClient(opt)
	if err := c.Connect(network, addr); err != nil {
		t.Fatalf("connect %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestTransports runs calls and a notification over every network: the
// same behaviour on tcp, IPv6, unix, reuseport, TLS and mutual TLS (and
// quic and kcp in tagged builds).
func TestTransports(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []server.OptionFn
			if tc.serverOpts != nil {
				opts = tc.serverOpts(t)
			}
			s := newPushServer(t, opts...)
			addr := serveOn(t, s, tc.network, tc.address(t))
			opt := client.DefaultOption
			opt.ConnectTimeout = 5 * time.Second
			if tc.clientOpt != nil {
				tc.clientOpt(t, &opt)
			}
			c := connect(t, opt, tc.network, addr)
			ch := make(chan *protocol.Message, 1)
			c.RegisterServerMessageChan(ch)

			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 25 {
						var r testutils.Reply
						if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: g, B: i}, &r); err != nil || r.C != g*i {
							t.Errorf("Mul(%d,%d) = %d, %v", g, i, r.C, err)
							return
						}
					}
				}()
			}
			wg.Wait()

			var res string
			if err := c.Call(t.Context(), "Push", "Echo", "hello", &res); err != nil || res != "hello" {
				t.Fatalf("Push.Echo = %q, %v", res, err)
			}
			select { // pushed before the reply: already delivered
			case m := <-ch:
				if string(m.Payload) != "hello" || m.ServiceMethod != "M" {
					t.Fatalf("notification %v %q", m, m.Payload)
				}
			default:
				t.Fatal("notification not delivered before the reply")
			}
		})
	}
}

// TestReuseport serves one address from three servers: every server gets
// connections, and when one closes the others keep serving the address.
func TestReuseport(t *testing.T) {
	servers := make([]*server.Server, 3)
	servers[0] = newPushServer(t)
	addr := serveOn(t, servers[0], "reuseport", "127.0.0.1:0")
	for i := 1; i < len(servers); i++ {
		servers[i] = newPushServer(t)
		if got := serveOn(t, servers[i], "reuseport", addr); got != addr {
			t.Fatalf("server %d on %s, want %s", i, got, addr)
		}
	}
	const clients = 30
	opt := client.DefaultOption
	for range clients {
		c := connect(t, opt, "tcp", addr)
		var r testutils.Reply
		if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: 6, B: 7}, &r); err != nil || r.C != 42 {
			t.Fatalf("Mul = %d, %v", r.C, err)
		}
	}
	total := 0
	for i, s := range servers {
		n := int(s.Stats().ConnsAccepted)
		total += n
		if n == 0 { // each of 30 connections goes to a server by hash: P(none) ~ 1e-5
			t.Errorf("server %d accepted no connection", i)
		}
	}
	if total != clients {
		t.Fatalf("%d connections accepted, want %d", total, clients)
	}
	servers[0].Close()
	for range 10 {
		c := connect(t, opt, "tcp", addr)
		var r testutils.Reply
		if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: 2, B: 3}, &r); err != nil || r.C != 6 {
			t.Fatalf("after closing one server: Mul = %d, %v", r.C, err)
		}
	}
}

// TestTLSMismatch: a client that does not trust the server's CA, and a
// client without a certificate against a mutual-TLS server, fail to
// connect with an error instead of hanging.
func TestTLSMismatch(t *testing.T) {
	p := tlsPair(t)
	s := newPushServer(t, server.WithTLSConfig(p.ServerConfig(true)))
	addr := serveOn(t, s, "tcp", "127.0.0.1:0")
	for name, cfg := range map[string]*tls.Config{
		"no client cert": p.ClientConfig(false),
		"untrusted CA":   {ServerName: "localhost", MinVersion: tls.VersionTLS12},
	} {
		t.Run(name, func(t *testing.T) {
			opt := client.DefaultOption
			opt.ConnectTimeout = 5 * time.Second
			opt.TLSConfig = cfg
			c := client.NewClient(opt)
			defer c.Close()
			err := c.Connect("tcp", addr)
			if err == nil { // TLS 1.3: the server's refusal may arrive with the first call
				var r testutils.Reply
				err = c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: 1, B: 1}, &r)
			}
			if err == nil {
				t.Fatal("call succeeded without a valid TLS setup")
			}
		})
	}
}

// Listen makes the listener Serve would use; ServeListener serves it.
func TestListen(t *testing.T) {
	s := newPushServer(t)
	if _, err := s.Listen("nope", "127.0.0.1:0"); !errors.Is(err, server.ErrUnsupportedNetwork) {
		t.Fatalf("unknown network: %v", err)
	}
	ln, err := s.Listen("reuseport", "[::1]:0")
	if err != nil {
		ln, err = s.Listen("reuseport", "127.0.0.1:0") // no IPv6 loopback
	}
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("reuseport", ln) }()
	<-s.Started
	c := connect(t, client.DefaultOption, "reuseport", ln.Addr().String())
	var r testutils.Reply
	if err := c.Call(t.Context(), "Arith", "Mul", &testutils.Args{A: 4, B: 5}, &r); err != nil || r.C != 20 {
		t.Fatalf("Mul = %d, %v", r.C, err)
	}
	s.Close()
	if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("serve: %v", err)
	}
}
