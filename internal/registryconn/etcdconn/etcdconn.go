// Package etcdconn opens courier's etcd clients (see package registryconn).
package etcdconn

import (
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/courier-rpc/courier/share"
)

// New returns an etcd client for endpoints that does not block on dial,
// logs nothing, keeps its connection alive (pings every 5 s, 3 s to
// answer), reconnects with a backoff of 100 ms to 2 s, and takes TLS, the
// dial timeout and user/password from o (nil: plain, defaults). Errors are
// those of clientv3.New, or of reading o's TLS files. The caller closes the
// client.
func New(endpoints []string, o *share.RegistryOptions) (*clientv3.Client, error) {
	tlsCfg, err := o.TLSConfig()
	if err != nil {
		return nil, err
	}
	cfg := clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          o.Timeout(),
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		TLS:                  tlsCfg,
		Logger:               zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		})},
	}
	if o != nil {
		cfg.Username, cfg.Password = o.Username, o.Password
	}
	return clientv3.New(cfg)
}
