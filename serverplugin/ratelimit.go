package serverplugin

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/juju/ratelimit"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/util"
)

// tokenBucket is the lazily built token bucket shared by the rate limiting
// plugins, so that plugins written as struct literals work too.
type tokenBucket struct {
	once   sync.Once
	bucket *ratelimit.Bucket // nil: no limit (fillInterval <= 0) or refuse all (capacity <= 0)
	refuse bool              // capacity <= 0: no token ever
}

// get builds the bucket on first use: one token every fillInterval, at most
// capacity tokens stored, full at start.
func (b *tokenBucket) get(fillInterval time.Duration, capacity int64) (*ratelimit.Bucket, bool) {
	b.once.Do(func() {
		switch {
		case capacity <= 0:
			b.refuse = true
		case fillInterval > 0:
			b.bucket = ratelimit.NewBucket(fillInterval, capacity)
		}
	})
	return b.bucket, b.refuse
}

// RateLimitingPlugin limits the rate at which the server accepts
// connections with a token bucket (github.com/juju/ratelimit): one token is
// added every FillInterval, at most Capacity are stored (the burst), and the
// bucket starts full. A connection that finds no token is refused (the
// server closes it). FillInterval <= 0 means no limit; Capacity <= 0 refuses
// every connection.
//
// Set the fields before the server starts (or use NewRateLimitingPlugin);
// the bucket is built from them on first use and later changes are ignored.
// The plugin is safe for concurrent use.
type RateLimitingPlugin struct {
	FillInterval time.Duration
	Capacity     int64

	tb tokenBucket
}

// NewRateLimitingPlugin returns a RateLimitingPlugin that admits one
// connection per fillInterval with bursts of up to capacity.
func NewRateLimitingPlugin(fillInterval time.Duration, capacity int64) *RateLimitingPlugin {
	p := &RateLimitingPlugin{FillInterval: fillInterval, Capacity: capacity}
	p.tb.get(fillInterval, capacity)
	return p
}

// HandleConnAccept takes a token for conn and returns conn, false (refused)
// when none is available. It implements server.PostConnAcceptPlugin.
func (plugin *RateLimitingPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	bucket, refuse := plugin.tb.get(plugin.FillInterval, plugin.Capacity)
	if refuse {
		return conn, false
	}
	if bucket == nil {
		return conn, true
	}
	return conn, bucket.TakeAvailable(1) > 0
}

// ReqRateLimitingPlugin limits the rate of requests the server reads, over
// all connections, with a token bucket (github.com/juju/ratelimit): one
// token is added every FillInterval, at most Capacity are stored (the burst),
// and the bucket starts full. Heartbeats are not limited.
//
// With block set, a request that finds no token waits for one (holding back
// the reading of its connection, which is backpressure) until the token is
// due or the connection's ctx ends. Without block it fails at once with
// server.ErrReqReachLimit: the server answers it with that error and keeps
// the connection; nothing is dropped silently.
//
// FillInterval <= 0 means no limit; Capacity <= 0 fails every request with
// server.ErrReqReachLimit (even with block, which would otherwise wait
// forever). Set the fields before the server starts (or use
// NewReqRateLimitingPlugin); later changes are ignored. The plugin is safe
// for concurrent use.
type ReqRateLimitingPlugin struct {
	FillInterval time.Duration
	Capacity     int64

	block bool
	tb    tokenBucket
}

// NewReqRateLimitingPlugin returns a ReqRateLimitingPlugin that lets one
// request through per fillInterval with bursts of up to capacity; block
// chooses between waiting for a token and failing the request.
func NewReqRateLimitingPlugin(fillInterval time.Duration, capacity int64, block bool) *ReqRateLimitingPlugin {
	p := &ReqRateLimitingPlugin{FillInterval: fillInterval, Capacity: capacity, block: block}
	p.tb.get(fillInterval, capacity)
	return p
}

// PostReadRequest takes a token for r. It returns server.ErrReqReachLimit
// when none is available and the plugin does not block, ctx's error when ctx
// ends while waiting, and nil otherwise (also for heartbeats and for reads
// that failed, e != nil, which it leaves to the server). It implements
// server.PostReadRequestPlugin.
func (plugin *ReqRateLimitingPlugin) PostReadRequest(ctx context.Context, r *protocol.Message, e error) error {
	if e != nil || r == nil || r.IsHeartbeat() {
		return nil
	}
	bucket, refuse := plugin.tb.get(plugin.FillInterval, plugin.Capacity)
	if refuse {
		return server.ErrReqReachLimit
	}
	if bucket == nil {
		return nil
	}
	if !plugin.block {
		if bucket.TakeAvailable(1) == 0 {
			return server.ErrReqReachLimit
		}
		return nil
	}
	wait := bucket.Take(1)
	if wait <= 0 {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return util.Wait(ctx, wait)
}
