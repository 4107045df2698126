//go:build quic

package client

import (
	"errors"
	"fmt"
	"net"

	"github.com/quic-go/quic-go"

	"github.com/courier-rpc/courier/internal/quicconn"
)

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
		cfg.NextProtos = []string{quicconn.ALPN}
	}
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		if host, _, err := net.SplitHostPort(address); err == nil {
			cfg.ServerName = host
		}
	}
	ctx, cancel := c.connectContext()
	defer cancel()
	qc, err := quic.DialAddr(ctx, address, cfg, &quic.Config{KeepAlivePeriod: quicconn.KeepAlive})
	if err != nil {
		return nil, fmt.Errorf("client: dial quic %s: %w", address, err)
	}
	st, err := qc.OpenStreamSync(ctx)
	if err != nil {
		_ = qc.CloseWithError(0, "")
		return nil, fmt.Errorf("client: open quic stream to %s: %w", address, err)
	}
	return quicconn.New(qc, st), nil
}
