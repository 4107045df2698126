//go:build kcp

package testutils

import (
	"crypto/sha256"

	"github.com/xtaci/kcp-go/v5"

	"github.com/courier-rpc/courier/server"
)

func init() {
	key := sha256.Sum256([]byte("courier test kcp key"))
	bc, err := kcp.NewAESBlockCrypt(key[:])
	if err != nil {
		panic(err)
	}
	kcpOptions = func() ([]server.OptionFn, any) { return []server.OptionFn{server.WithBlockCrypt(bc)}, bc }
}
