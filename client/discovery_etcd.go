//go:build etcd

package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/courier-rpc/courier/internal/registryconn/etcdconn"
	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// Bounds of the etcd discovery's re-fetch backoff after a watch failure.
const (
	etcdRefetchMin = 100 * time.Millisecond
	etcdRefetchMax = 5 * time.Second
)

// ErrEtcdNotCompiled is returned by the etcd discoveries when courier was
// built without the "etcd" build tag; this build has etcd support, so
// nothing returns it here.
var ErrEtcdNotCompiled = errors.New("courier: etcd support not compiled in; rebuild with -tags etcd")

// EtcdDiscovery is rpcx's name for the etcd v2 discovery. etcd removed its
// v2 API, so courier's is the v3 discovery under another name; it reads the
// layout every courier etcd register plugin writes.
type EtcdDiscovery = EtcdV3Discovery

// EtcdV3Discovery is a ServiceDiscovery backed by etcd (v3 API). It lists
// the keys "basePath/servicePath/network@address" (rpcx's layout, with or
// without a leading slash in basePath) whose values are URL-encoded
// metadata, drops servers whose metadata says state=inactive, and watches
// the prefix for changes.
//
// When etcd is unreachable the discovery keeps its last good list. The
// watch is re-established by re-reading the list with a backoff of 100 ms
// doubling to 5 s (with jitter), so an outage costs at most a handful of
// attempts per backoff window and no CPU spin; the etcd client's own
// reconnects are capped at 2 s between dials. Changes made during an outage
// (a server registered meanwhile) arrive as soon as etcd answers again.
// Compiled in with the build tag "etcd"; without it the constructors return
// ErrEtcdNotCompiled. It is safe for concurrent use.
type EtcdV3Discovery struct {
	// RetriesAfterWatchFailed is how many consecutive failed re-reads of the
	// list the watch loop tries before it gives up (keeping the last list);
	// negative, the default, means forever. Set it right after construction.
	RetriesAfterWatchFailed int
	// AllowKeyNotFound is the allowKeyNotFound argument of the constructor.
	AllowKeyNotFound bool

	registrySource
	prefix string // dir + "/"
	cli    *clientv3.Client
	serverList

	refetches atomic.Int64 // re-reads after watch failures (for tests)
}

// NewEtcdDiscovery is NewEtcdV3Discovery under rpcx's v2 name.
func NewEtcdDiscovery(basePath string, servicePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return NewEtcdV3Discovery(basePath, servicePath, etcdAddr, allowKeyNotFound, options)
}

// NewEtcdDiscoveryTemplate is NewEtcdV3DiscoveryTemplate under rpcx's v2 name.
func NewEtcdDiscoveryTemplate(basePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return NewEtcdV3DiscoveryTemplate(basePath, etcdAddr, allowKeyNotFound, options)
}

// NewEtcdV3Discovery returns a discovery of the servers of servicePath
// registered under basePath in the etcd cluster at etcdAddr ("host:port" or
// URLs). It reads the list once, waiting at most options' connection
// timeout (default share.DefaultRegistryConnectionTimeout), then watches.
//
// The discovery is never nil, even with an error. etcd not answering gives
// an error wrapping share.ErrRegistryUnavailable, and no server registered
// yet one wrapping share.ErrRegistryKeyNotFound (unless allowKeyNotFound);
// in both cases the discovery starts empty and keeps trying and watching,
// so a client built on it works as soon as a server registers. Bad
// arguments give an error wrapping ErrBadDiscovery and a discovery that
// stays empty. It never panics.
func NewEtcdV3Discovery(basePath string, servicePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return newEtcdDiscovery(basePath, servicePath, etcdAddr, allowKeyNotFound, options, false)
}

// NewEtcdV3DiscoveryTemplate returns a template discovery for XClient
// pools and OneClient: it lists nothing itself; Clone(servicePath) returns a
// working discovery of that service with the same settings. It does not
// contact etcd. Bad arguments give an error wrapping ErrBadDiscovery (and a
// discovery whose clones fail the same way).
func NewEtcdV3DiscoveryTemplate(basePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions) (ServiceDiscovery, error) {
	return newEtcdDiscovery(basePath, "", etcdAddr, allowKeyNotFound, options, true)
}

func newEtcdDiscovery(basePath, servicePath string, etcdAddr []string, allowKeyNotFound bool, options *share.RegistryOptions, template bool) (*EtcdV3Discovery, error) {
	d := &EtcdV3Discovery{RetriesAfterWatchFailed: -1, AllowKeyNotFound: allowKeyNotFound}
	if ok, err := d.init("etcd", basePath, servicePath, etcdAddr, options, template); !ok {
		return d, err
	}
	d.prefix = d.dir + "/"
	cli, err := etcdconn.New(d.addrs, options)
	if err != nil {
		return d, d.fail(fmt.Errorf("%w: etcd client: %w", ErrBadDiscovery, err))
	}
	d.cli = cli
	d.begin()
	rev, found, err := d.fetch()
	go d.run(rev, err == nil)
	if err != nil {
		return d, fmt.Errorf("%w: etcd %v: %w (retrying in the background)", share.ErrRegistryUnavailable, d.addrs, err)
	}
	if found == 0 && !allowKeyNotFound {
		return d, fmt.Errorf("%w: no key under %q in etcd %v (watching for one)", share.ErrRegistryKeyNotFound, d.prefix, d.addrs)
	}
	return d, nil
}

// fetch reads the whole list and publishes it; it returns the revision to
// watch from and the number of keys read.
func (d *EtcdV3Discovery) fetch() (int64, int, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.options.Timeout())
	defer cancel()
	resp, err := d.cli.Get(ctx, d.prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, 0, err
	}
	kvs := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if k := strings.TrimPrefix(string(kv.Key), d.prefix); k != "" {
			kvs[k] = string(kv.Value)
		}
	}
	d.setRegistry(kvs)
	return resp.Header.Revision, len(kvs), nil
}

// run watches from rev+1 (when fetched, else it first reads the list);
// when the watch ends it re-reads the list with backoff and watches again,
// until Close.
func (d *EtcdV3Discovery) run(rev int64, fetched bool) {
	defer close(d.done)
	failures := 0
	delay := time.Duration(0)
	for {
		if fetched {
			if next, ok := d.watch(rev); ok {
				rev = next
				failures, delay = 0, 0
			}
		}
		for fetched = false; !fetched; {
			if d.ctx.Err() != nil {
				return
			}
			failures++
			if limit := d.RetriesAfterWatchFailed; limit >= 0 && failures > limit {
				log.Errorf("client: etcd discovery of %q gave up after %d failed watch attempts; keeping %d servers", d.servicePath, failures-1, len(d.GetServices()))
				return
			}
			delay = min(max(2*delay, etcdRefetchMin), etcdRefetchMax)
			if !sleepCtx(d.ctx.Done(), delay+rand.N(delay/5+1)) {
				return
			}
			d.refetches.Add(1)
			next, _, err := d.fetch()
			if err != nil {
				log.Debugf("client: etcd discovery of %q: re-read failed: %v", d.servicePath, err)
				continue
			}
			rev, fetched = next, true
		}
	}
}

// watch applies events after rev until the watch ends; it returns the last
// revision seen and whether any response arrived.
func (d *EtcdV3Discovery) watch(rev int64) (int64, bool) {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(d.ctx))
	defer cancel()
	got := false
	for resp := range d.cli.Watch(ctx, d.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			log.Debugf("client: etcd discovery of %q: watch ended: %v", d.servicePath, err)
			return rev, got
		}
		got = true
		d.updateRegistry(func(kvs map[string]string) {
			for _, ev := range resp.Events {
				k := strings.TrimPrefix(string(ev.Kv.Key), d.prefix)
				if k == "" {
					continue
				}
				if ev.Type == clientv3.EventTypeDelete {
					delete(kvs, k)
				} else {
					kvs[k] = string(ev.Kv.Value)
				}
			}
		})
		if resp.Header.Revision > rev {
			rev = resp.Header.Revision
		}
	}
	return rev, got
}

// Clone returns a new discovery of servicePath with the same etcd
// addresses, base path and options (its own connection and watch). Errors
// as for NewEtcdV3Discovery.
func (d *EtcdV3Discovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return NewEtcdV3Discovery(d.basePath, servicePath, d.addrs, d.AllowKeyNotFound, d.options)
}

// Close stops the watch, closes the etcd connection and every watcher
// channel. It is idempotent; GetServices keeps returning the last list.
func (d *EtcdV3Discovery) Close() {
	d.close(func() {
		if d.cli != nil {
			d.cli.Close()
		}
	}, d.closeWatchers)
}
