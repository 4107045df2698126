// Package zkconn opens courier's ZooKeeper connections (see package
// registryconn).
package zkconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// debugLogger sends go-zookeeper's messages to courier's log at Debug
// level.
type debugLogger struct{}

func (debugLogger) Printf(format string, args ...interface{}) {
	log.Debugf("zookeeper: "+format, args...)
}

// Connect opens a ZooKeeper connection to servers asking for session
// timeout session; it connects and reconnects in the background, logs at
// Debug level, uses TLS when o configures it (the server name taken from
// the address when unset) and "digest" auth when o has a Username (sent
// once connected, and again by go-zookeeper on reconnect). onEvent, when
// not nil, receives every event as it happens (zk.WithEventCallback).
// Errors are those of zk.Connect,
// or of reading o's TLS files. The caller closes the connection.
func Connect(servers []string, session time.Duration, o *share.RegistryOptions, onEvent zk.EventCallback) (*zk.Conn, <-chan zk.Event, error) {
	tlsCfg, err := o.TLSConfig()
	if err != nil {
		return nil, nil, err
	}
	dialer := zk.Dialer(net.DialTimeout)
	if tlsCfg != nil {
		dialer = func(network, address string, timeout time.Duration) (net.Conn, error) {
			cfg := tlsCfg.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName, _, _ = net.SplitHostPort(address)
			}
			return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, network, address, cfg)
		}
	}
	var conn *zk.Conn
	var events <-chan zk.Event
	if onEvent != nil {
		conn, events, err = zk.Connect(servers, session, zk.WithLogger(debugLogger{}), zk.WithLogInfo(false), zk.WithDialer(dialer), zk.WithEventCallback(onEvent))
	} else {
		conn, events, err = zk.Connect(servers, session, zk.WithLogger(debugLogger{}), zk.WithLogInfo(false), zk.WithDialer(dialer))
	}
	if err != nil {
		return nil, nil, err
	}
	if o != nil && o.Username != "" {
		// AddAuth waits for the first connection: run it in the background.
		go func() { _ = conn.AddAuth("digest", []byte(o.Username+":"+o.Password)) }()
	}
	return conn, events, nil
}

// WaitSession waits until events reports a session, at most timeout. It
// returns an error when the channel closes, the timeout passes, or ctx
// ends (ctx.Err()).
func WaitSession(ctx context.Context, events <-chan zk.Event, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.New("connection closed")
			}
			if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("no session within %v", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
