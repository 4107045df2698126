package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/courier-rpc/courier/util/memconn"
)

// ConnFactoryFn dials a connection for network and address on behalf of c
// (whose option carries the TLS config and timeouts).
type ConnFactoryFn func(c *Client, network, address string) (net.Conn, error)

// ConnFactories maps a network name to the function that dials it. Built in:
// "tcp", "tcp4", "tcp6", "unix" and "memu" (the in-process network of
// util/memconn). Other transports ("http", "kcp", "quic", ...) register
// themselves here from init functions. Add entries only at init time: the
// map is read without a lock by Connect.
var ConnFactories = map[string]ConnFactoryFn{
	"tcp":  dialStream,
	"tcp4": dialStream,
	"tcp6": dialStream,
	"unix": dialStream,
	"memu": dialMemu,
}

// Connect dials the server at address over network (a key of
// ConnFactories) and starts the client's reader goroutine (and
// the heartbeat, when Option.Heartbeat is set). Dialing, and the TLS
// handshake when Option.TLSConfig is set, are bounded by
// Option.ConnectTimeout. Plugins see the new connection (ConnCreated, which
// may wrap it, then ClientConnected) or the failure (ConnCreateFailed).
// A Client connects once: a second Connect, or Connect after Close, fails.
func (client *Client) Connect(network, address string) error {
	client.mu.Lock()
	switch {
	case client.closing.Load() || client.shutdown.Load():
		client.mu.Unlock()
		return client.shutdownErr()
	case client.started || client.Conn != nil:
		client.mu.Unlock()
		return errAlreadyConnected
	}
	client.started = true // reserve: concurrent Connect calls fail
	client.mu.Unlock()

	conn, err := client.dial(network, address)
	if err != nil {
		client.mu.Lock()
		client.started = false
		client.mu.Unlock()
		if client.Plugins != nil {
			client.Plugins.DoConnCreateFailed(network, address)
		}
		return err
	}
	return client.start(conn)
}

func (client *Client) dial(network, address string) (net.Conn, error) {
	fn := ConnFactories[network]
	if fn == nil {
		return nil, fmt.Errorf("client: unsupported network %q", network)
	}
	conn, err := fn(client, network, address)
	if err != nil {
		return nil, err
	}
	if client.Plugins != nil {
		c, err := client.Plugins.DoConnCreated(conn)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("client: conn created plugin: %w", err)
		}
		if c != nil {
			conn = c
		}
	}
	return conn, nil
}

// start installs conn and starts the goroutines.
func (client *Client) start(conn net.Conn) error {
	client.mu.Lock()
	if client.closing.Load() || client.shutdown.Load() { // Close ran while we dialed
		client.started = false
		client.mu.Unlock()
		_ = conn.Close()
		return client.shutdownErr()
	}
	client.Conn = conn
	client.remote = conn.RemoteAddr().String()
	heartbeat := client.option.Heartbeat && client.option.HeartbeatInterval > 0
	if heartbeat {
		client.wg.Add(2)
	} else {
		client.wg.Add(1)
	}
	client.mu.Unlock()

	client.wmu.Lock()
	client.wopen = true
	client.wconn = conn
	client.wmu.Unlock()

	go client.readLoop(conn)
	if heartbeat {
		go client.heartbeatLoop()
	}
	if client.Plugins != nil {
		// The connection is live here, so a hook may call back into the
		// client. The conn it returns is ignored: wrap in ConnCreated.
		if _, err := client.Plugins.DoClientConnected(conn); err != nil {
			_ = client.Close()
			return fmt.Errorf("client: client connected plugin: %w", err)
		}
	}
	return nil
}

// connectContext bounds dialing by Option.ConnectTimeout (0: no bound).
func (client *Client) connectContext() (context.Context, context.CancelFunc) {
	if t := client.option.ConnectTimeout; t > 0 {
		return context.WithTimeout(context.Background(), t)
	}
	return context.WithCancel(context.Background())
}

// dialStream dials tcp, tcp4, tcp6 and unix, with TLS when configured.
func dialStream(c *Client, network, address string) (net.Conn, error) {
	ctx, cancel := c.connectContext()
	defer cancel()
	d := net.Dialer{}
	if p := c.option.TCPKeepAlivePeriod; p > 0 {
		d.KeepAlive = p
	}
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c.secure(ctx, conn, address)
}

// dialMemu dials the in-process network, with TLS when configured.
func dialMemu(c *Client, _, address string) (net.Conn, error) {
	ctx, cancel := c.connectContext()
	defer cancel()
	conn, err := memconn.DialContext(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("client: dial memu %s: %w", address, err)
	}
	return c.secure(ctx, conn, address)
}

// secure runs the TLS handshake on conn when Option.TLSConfig is set. When
// the config names no server and verifies certificates, the host of
// address is used as server name.
func (c *Client) secure(ctx context.Context, conn net.Conn, address string) (net.Conn, error) {
	if c.option.TLSConfig == nil {
		return conn, nil
	}
	return tlsHandshake(ctx, conn, c.option.TLSConfig, address)
}

// tlsHandshake runs the client side of a TLS handshake on conn with cfg
// (the host of address as server name when cfg names none and verifies
// certificates). On failure it closes conn.
func tlsHandshake(ctx context.Context, conn net.Conn, cfg *tls.Config, address string) (net.Conn, error) {
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		if host, _, err := net.SplitHostPort(address); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("client: tls handshake with %s: %w", address, err)
	}
	return tc, nil
}
