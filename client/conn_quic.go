//go:build quic

package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// quicALPN is the ALPN protocol offered when Option.TLSConfig names none
// (rpcx's value; the server offers the same by default).
const quicALPN = "rpcx"

// quicKeepAlive keeps idle QUIC connections alive (QUIC closes a
// connection idle for 30s).
const quicKeepAlive = 15 * time.Second

func init() { ConnFactories["quic"] = dialQUIC }

// errQUICNeedsTLS is the error of dialing quic without Option.TLSConfig.
var errQUICNeedsTLS = errors.New("client: quic needs Option.TLSConfig")

// dialQUIC opens a QUIC connection and one stream on it, bounded by
// Option.ConnectTimeout. When the TLS config names no server and verifies
// certificates, the host of address is used as server name.
func dialQUIC(c *Client, _, address string) (net.Conn, error) {
	cfg := c.option.TLSConfig
	if cfg == nil {
		return nil, errQUICNeedsTLS
	}
	cfg = cfg.Clone()
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{quicALPN}
	}
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		if host, _, err := net.SplitHostPort(address); err == nil {
			cfg.ServerName = host
		}
	}
	ctx, cancel := c.connectContext()
	defer cancel()
	qc, err := quic.DialAddr(ctx, address, cfg, &quic.Config{KeepAlivePeriod: quicKeepAlive})
	if err != nil {
		return nil, fmt.Errorf("client: dial quic %s: %w", address, err)
	}
	st, err := qc.OpenStreamSync(ctx)
	if err != nil {
		_ = qc.CloseWithError(0, "")
		return nil, fmt.Errorf("client: open quic stream to %s: %w", address, err)
	}
	return &quicConn{qc: qc, Stream: st}, nil
}

// quicConn is one QUIC connection used through its single stream.
type quicConn struct {
	qc *quic.Conn
	*quic.Stream
}

// Close closes the stream and the connection.
func (c *quicConn) Close() error {
	_ = c.Stream.Close()
	return c.qc.CloseWithError(0, "")
}

// LocalAddr returns the local UDP address.
func (c *quicConn) LocalAddr() net.Addr { return c.qc.LocalAddr() }

// RemoteAddr returns the server's UDP address.
func (c *quicConn) RemoteAddr() net.Addr { return c.qc.RemoteAddr() }

// ConnectionState returns the TLS state of the connection.
func (c *quicConn) ConnectionState() tls.ConnectionState { return c.qc.ConnectionState().TLS }
