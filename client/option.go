package client

import (
	"crypto/tls"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Option configures a Client and an XClient. It is copied by value: the
// usual pattern is
//
//	opt := client.DefaultOption
//	opt.SerializeType = protocol.JSON
type Option struct {
	// Group restricts an XClient to servers whose metadata has this group.
	Group string
	// Retries is how many more times Failover and Failtry try after the
	// first attempt fails (Retries=N makes at most N+1 attempts). Default 3.
	Retries int
	// RetryInterval is the pause between attempts. Default 0.
	RetryInterval time.Duration
	// TimeToDisallow is how long a server that failed is not selected.
	TimeToDisallow time.Duration
	// TLSConfig turns on TLS for tcp, unix and quic connections.
	TLSConfig *tls.Config
	// Block is a kcp.BlockCrypt for KCP connections (tag kcp).
	Block interface{}
	// RPCPath is the HTTP path of the http network. Default "/_rpcx_".
	RPCPath string
	// ConnectTimeout bounds dialing (and the TLS handshake). Default 1s.
	ConnectTimeout time.Duration
	// IdleTimeout closes a connection that has read nothing for this long
	// (0: never). A read deadline is set before each read.
	IdleTimeout time.Duration
	// BackupLatency is how long Failbackup waits before it sends a second
	// request. Default 10ms.
	BackupLatency time.Duration
	// GenBreaker makes the circuit breaker of each server (nil: none).
	GenBreaker func() Breaker
	// SerializeType is the codec of arguments and replies. Default MsgPack.
	SerializeType protocol.SerializeType
	// CompressType compresses request payloads. Default None.
	CompressType protocol.CompressType
	// Heartbeat sends a heartbeat every HeartbeatInterval; a connection
	// whose heartbeat gets no answer within MaxWaitForHeartbeat is closed.
	Heartbeat bool
	// HeartbeatInterval is the period of heartbeats.
	HeartbeatInterval time.Duration
	// MaxWaitForHeartbeat bounds the wait for a heartbeat reply. Default 30s.
	MaxWaitForHeartbeat time.Duration
	// TCPKeepAlivePeriod sets TCP keep-alive on connections (0: not set).
	// Default 1 minute.
	TCPKeepAlivePeriod time.Duration
	// BidirectionalBlock makes delivery of server notifications block when
	// the channel is full instead of dropping (and counting) them.
	BidirectionalBlock bool
	// Sticky keeps using the selected server until it fails.
	Sticky bool
	// NilCallServerMessageHandler receives server notifications when no
	// channel is registered.
	NilCallServerMessageHandler func(msg *protocol.Message)
	// ServerMessageClosed, when set, is called once per connection when it
	// ends (closed by the server, by an I/O error, a missed heartbeat or
	// Close), after the last server notification of that connection was
	// delivered: the terminal event of the notification stream (courier
	// addition). remoteAddr is the server's address, err wraps ErrShutdown
	// and the cause. It runs on the connection's reader goroutine; the
	// notification channel itself is never closed.
	ServerMessageClosed func(remoteAddr string, err error)

	// MaxMessageLength bounds the frames the client accepts (courier
	// addition). 0 means protocol.DefaultMaxMessageLength; protocol.NoLimit
	// turns the check off.
	MaxMessageLength int
	// WriteTimeout bounds each write of a batch of requests (courier
	// addition). 0 means no deadline.
	WriteTimeout time.Duration

	// RetryBudget bounds the extra attempts of an XClient: retries,
	// transparent retries and hedges (courier addition). Share one pointer
	// between XClients to give them one budget. nil: each XClient has its
	// own budget with the defaults (DefaultRetryBudgetRatio, ...Floor,
	// ...Window).
	RetryBudget *RetryBudget
	// DisableRetryBudget lets every extra attempt through, as rpcx does.
	DisableRetryBudget bool
	// Backoff returns the pause before retry n (n >= 1) of Failover and
	// Failtry (courier addition); see ExponentialBackoff. nil: a fixed
	// RetryInterval. A pause that would end past the caller's deadline is
	// not taken: the call ends with the last error instead.
	Backoff func(retry int) time.Duration
	// NonIdempotent lists the methods of the service that must never be
	// sent again once they may have run (courier addition): after a lost
	// connection or a timeout they fail instead of being retried or
	// hedged. Servers can declare such methods too, in their registration
	// metadata (share.NonIdempotentMetaKey, see server.NonIdempotent).
	NonIdempotent []string
	// Hedges is how many extra requests Failbackup may send (courier
	// addition). Default 0 means 1, as in rpcx.
	Hedges int
	// HedgeQuantile, when in (0, 1), makes Failbackup wait for that
	// quantile of the method's recent latencies (e.g. 0.95) instead of
	// BackupLatency, once 32 calls were measured (courier addition).
	HedgeQuantile float64
	// Outlier configures outlier ejection, on by default (courier
	// addition); see OutlierConfig.
	Outlier OutlierConfig
	// HealthCheck turns on client-side health checking of an XClient's
	// servers, off by default (courier addition); see HealthCheckConfig.
	HealthCheck HealthCheckConfig
}

// DefaultOption is the option most clients start from. Copy it, change the
// copy, and pass the copy; do not change DefaultOption itself while clients
// are being created.
var DefaultOption = Option{
	Retries:             3,
	RPCPath:             share.DefaultRPCPath,
	ConnectTimeout:      time.Second,
	SerializeType:       protocol.MsgPack,
	CompressType:        protocol.None,
	BackupLatency:       10 * time.Millisecond,
	MaxWaitForHeartbeat: 30 * time.Second,
	TCPKeepAlivePeriod:  time.Minute,
	BidirectionalBlock:  false,
	TimeToDisallow:      time.Minute,
}
