// Package rpcobs is the vocabulary shared by courier's observability
// plugins (OpenTelemetry, Prometheus, access log): the names of calls,
// status codes and attributes, per the OpenTelemetry RPC semantic
// conventions, so that every signal spells them the same way.
package rpcobs

import (
	"strings"

	"github.com/courier-rpc/courier/share"
)

// System is the value of rpc.system.name: the wire protocol courier and
// rpcx share.
const System = "rpcx"

// Attribute keys (OpenTelemetry semantic conventions for RPC, v1.40 and
// later, plus courier's own under "courier.").
const (
	KeySystem     = "rpc.system.name"
	KeyMethod     = "rpc.method"
	KeyStatusCode = "rpc.response.status_code"
	// KeyStatusCodeLegacy is the pre-v1.39 spelling of KeyStatusCode,
	// also set so that queries written against either one work.
	KeyStatusCodeLegacy = "rpc.status_code"
	KeyErrorType        = "error.type"
	KeyServerAddress    = "server.address"
	KeyServerPort       = "server.port"
	KeyPeerAddress      = "network.peer.address"
	KeyPeerPort         = "network.peer.port"
	KeyTransport        = "network.transport"
	KeyOneway           = "courier.oneway"
	KeyAttempt          = "courier.attempt"
	KeyFailMode         = "courier.fail_mode"
	KeyReqSize          = "courier.request.size"
	KeyResSize          = "courier.response.size"
	KeyService          = "courier.service"
	KeyServer           = "courier.server"
	KeyBreakerState     = "courier.breaker.state"
)

// OtherMethod replaces the method name of calls to methods the server does
// not have, so that hostile or mistaken callers cannot grow the number of
// metric series without bound (semantic conventions: "_OTHER").
const OtherMethod = "_OTHER"

// DurationBuckets are the bucket boundaries, in seconds, that the semantic
// conventions advise for rpc.server.call.duration and
// rpc.client.call.duration.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// FineDurationBuckets adds sub-millisecond boundaries below
// DurationBuckets: courier calls on a LAN take tens of microseconds, which
// the advised buckets would all put in the first one.
var FineDurationBuckets = append([]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025}, DurationBuckets...)

// SizeBuckets are byte-size bucket boundaries for request and response
// size histograms.
var SizeBuckets = []float64{64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216}

var statusNames = func() []string {
	out := make([]string, share.CodeOverloaded+1)
	for c := range out {
		out[c] = strings.ToUpper(share.Code(c).String())
	}
	return out
}()

// StatusName returns the name of code c as rpc.response.status_code spells
// it: "OK", "DEADLINE_EXCEEDED", "OVERLOADED", ...
func StatusName(c share.Code) string {
	if int(c) < len(statusNames) {
		return statusNames[c]
	}
	return strings.ToUpper(c.String())
}

// Method returns the fully qualified method name "Service/Method".
func Method(service, method string) string { return service + "/" + method }

// SplitHostPort splits "host:port" into host and port (0 when absent or
// not a number) without allocating.
func SplitHostPort(hp string) (string, int) {
	i := strings.LastIndexByte(hp, ':')
	if i < 0 {
		return hp, 0
	}
	host, ps := hp[:i], hp[i+1:]
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	port := 0
	for _, ch := range ps {
		if ch < '0' || ch > '9' || port > 65535 {
			return host, 0
		}
		port = port*10 + int(ch-'0')
	}
	return host, port
}
