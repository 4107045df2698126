// Package cross runs calls across implementations over real TCP on
// 127.0.0.1: rpcx v1.9.1 clients against courier servers and courier
// clients against rpcx servers. Every connection goes through a recording
// proxy (testsvc.Tap) so that failures print the frames in hex.
//
// Cases that run an rpcx client also run it against an rpcx server: that
// baseline shows that the expectation is rpcx's own behaviour.
package cross

import (
	"testing"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	rlog "github.com/smallnest/rpcx/log"
)

func TestMain(m *testing.M) {
	// rpcx logs every closed connection; the tests check behaviour instead.
	rlog.SetDummyLogger()
	testsvc.MainWithLeakCheck(m)
}
