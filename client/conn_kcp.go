//go:build kcp

package client

import (
	"errors"
	"fmt"
	"net"

	"github.com/xtaci/kcp-go/v5"
)

// KCP forward error correction, as on the server: 10 data and 3 parity
// shards.
const (
	kcpDataShards   = 10
	kcpParityShards = 3
)

func init() { ConnFactories["kcp"] = dialKCP }

// errKCPNeedsBlock is the error of dialing kcp without a kcp.BlockCrypt in
// Option.Block.
var errKCPNeedsBlock = errors.New("client: kcp needs Option.Block to be a kcp.BlockCrypt")

// dialKCP opens a KCP session with the block cipher of Option.Block, in
// stream mode with no-delay settings (SetNoDelay(1, 10, 2, 1)); a
// ConnCreated plugin may assert *kcp.UDPSession to tune it. With
// Option.TLSConfig the session is wrapped in TLS. KCP has no keep-alive and
// no handshake: a dead server is noticed only through Option.IdleTimeout
// or heartbeats.
func dialKCP(c *Client, _, address string) (net.Conn, error) {
	bc, _ := c.option.Block.(kcp.BlockCrypt)
	if bc == nil {
		return nil, errKCPNeedsBlock
	}
	sess, err := kcp.DialWithOptions(address, bc, kcpDataShards, kcpParityShards)
	if err != nil {
		return nil, fmt.Errorf("client: dial kcp %s: %w", address, err)
	}
	sess.SetStreamMode(true)
	sess.SetWriteDelay(false)
	sess.SetNoDelay(1, 10, 2, 1)
	ctx, cancel := c.connectContext()
	defer cancel()
	return c.secure(ctx, sess, address)
}
