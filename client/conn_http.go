package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/courier-rpc/courier/share"
)

// ErrHTTPConnect is returned (wrapped, with the server's status) when a
// server does not accept an HTTP CONNECT.
var ErrHTTPConnect = errors.New("client: http connect refused")

func init() {
	ConnFactories["http"] = dialHTTP
}

// dialHTTP dials the "http" network: a TCP (TLS when configured)
// connection on which the client sends "CONNECT <Option.RPCPath>
// HTTP/1.0" and, once the server answers 200, speaks the rpcx protocol
// (rpcx's HTTP CONNECT transport). Dialing and the exchange are bounded by
// Option.ConnectTimeout.
func dialHTTP(c *Client, _, address string) (net.Conn, error) {
	start := time.Now()
	conn, err := dialStream(c, "tcp", address)
	if err != nil {
		return nil, err
	}
	if t := c.option.ConnectTimeout; t > 0 {
		_ = conn.SetDeadline(start.Add(t))
	}
	path := c.option.RPCPath
	if path == "" {
		path = share.DefaultRPCPath
	}
	if _, err := io.WriteString(conn, "CONNECT "+path+" HTTP/1.0\n\n"); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("client: http connect to %s: %w", address, err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("client: http connect to %s: %w", address, err)
	}
	if res.StatusCode != http.StatusOK {
		_ = conn.Close()
		return nil, fmt.Errorf("%w: %s answered %q", ErrHTTPConnect, address, res.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// bufferedConn is a connection whose first bytes were read ahead.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read reads the bytes read ahead first.
func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
