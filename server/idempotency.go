package server

import (
	"strings"

	"github.com/courier-rpc/courier/share"
)

// NonIdempotent returns registration metadata ("nonidempotent=A,B") that
// declares methods which must not run twice: pass it (joined with "&" to
// other metadata) as the metadata argument of Register or RegisterName,
// and registry plugins publish it with the service. courier XClients then
// never send such a method again once an attempt may have run (they still
// retry it when it provably did not run); rpcx clients ignore it.
func NonIdempotent(methods ...string) string {
	return share.NonIdempotentMetaKey + "=" + strings.Join(methods, ",")
}
