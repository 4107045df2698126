//go:build kcp

package server_test

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/xtaci/kcp-go/v5"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

func kcpCrypt(t *testing.T) kcp.BlockCrypt {
	t.Helper()
	key := sha256.Sum256([]byte("courier kcp test key"))
	bc, err := kcp.NewAESBlockCrypt(key[:])
	if err != nil {
		t.Fatal(err)
	}
	return bc
}

func init() {
	kcpServer := func(tlsOpts func(*testing.T) []server.OptionFn) func(*testing.T) []server.OptionFn {
		return func(t *testing.T) []server.OptionFn {
			opts := []server.OptionFn{server.WithBlockCrypt(kcpCrypt(t))}
			if tlsOpts != nil {
				opts = append(opts, tlsOpts(t)...)
			}
			return opts
		}
	}
	kcpClient := func(tlsOpt func(*testing.T, *client.Option)) func(*testing.T, *client.Option) {
		return func(t *testing.T, o *client.Option) {
			o.Block = kcpCrypt(t)
			if tlsOpt != nil {
				tlsOpt(t, o)
			}
		}
	}
	transportCases = append(transportCases,
		transportCase{name: "kcp", network: "kcp", address: loopback4, serverOpts: kcpServer(nil), clientOpt: kcpClient(nil)},
		transportCase{name: "kcp6", network: "kcp", address: loopback6, serverOpts: kcpServer(nil), clientOpt: kcpClient(nil)},
		transportCase{name: "kcp-mtls", network: "kcp", address: loopback4, serverOpts: kcpServer(tlsServer(true)), clientOpt: kcpClient(tlsClient(true))},
	)
}

func TestKCPNeedsBlockCrypt(t *testing.T) {
	s := server.NewServer()
	if err := s.Serve("kcp", "127.0.0.1:0"); !errors.Is(err, server.ErrKCPNeedsBlockCrypt) {
		t.Fatalf("serve kcp without a block cipher: %v", err)
	}
	opt := client.DefaultOption
	opt.ConnectTimeout = time.Second
	c := client.NewClient(opt)
	if err := c.Connect("kcp", "127.0.0.1:1"); err == nil {
		c.Close()
		t.Fatal("dial kcp without a block cipher succeeded")
	}
}
