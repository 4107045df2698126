//go:build consul

package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/courier-rpc/courier/internal/registryconn/consulconn"
	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// consulWaitTime bounds each blocking query of the Consul discovery.
const consulWaitTime = 30 * time.Second

// ErrConsulNotCompiled is returned by the Consul discovery when courier was
// built without the "consul" build tag; this build has Consul support, so
// nothing returns it here.
var ErrConsulNotCompiled = errors.New("courier: consul support not compiled in; rebuild with -tags consul")

// ConsulDiscovery is a ServiceDiscovery backed by Consul's KV store. It
// lists the keys "basePath/servicePath/network@address" (rpcx's layout,
// with or without a leading slash in basePath) whose values are URL-encoded
// metadata, drops servers whose metadata says state=inactive, and watches
// the prefix with blocking queries, so changes arrive at once.
//
// When Consul is unreachable the discovery keeps its last good list and
// retries with a backoff of 100 ms doubling to 5 s (with jitter), so an
// outage costs a handful of requests per backoff window and no CPU spin;
// each answer after an outage is taken as the new truth (a restarted dev
// agent starts empty, and servers re-register within their check TTL/3).
// Only the first of the addresses that answers is used at a time.
// Compiled in with the build tag "consul"; without it the constructors
// return ErrConsulNotCompiled. It is safe for concurrent use.
type ConsulDiscovery struct {
	// RetriesAfterWatchFailed is how many consecutive failed queries the
	// watch loop tries before it gives up (keeping the last list); negative,
	// the default, means forever. Set it right after construction.
	RetriesAfterWatchFailed int

	registrySource
	prefix  string // dir + "/"
	clients []*api.Client
	trs     []*http.Transport
	cur     int // client in use (run goroutine only after construction)
	serverList

	retries atomic.Int64 // queries after failures (for tests)
}

// NewConsulDiscovery returns a discovery of the servers of servicePath
// registered under basePath in Consul at consulAddr (agents' HTTP API
// "host:port"). It reads the list once, waiting at most options'
// connection timeout (default share.DefaultRegistryConnectionTimeout), then
// watches. A service with no key yet gives an empty list that fills as
// servers register.
//
// The discovery is never nil, even with an error. Consul not answering
// gives an error wrapping share.ErrRegistryUnavailable and a discovery that
// starts empty and keeps trying, so a client built on it works as soon as
// Consul answers and a server registers. Bad arguments give an error
// wrapping ErrBadDiscovery and a discovery that stays empty. It never
// panics.
func NewConsulDiscovery(basePath string, servicePath string, consulAddr []string, options *share.RegistryOptions) (*ConsulDiscovery, error) {
	return newConsulDiscovery(basePath, servicePath, consulAddr, options, false)
}

// NewConsulDiscoveryTemplate returns a template discovery for XClient pools
// and OneClient: it lists nothing itself; Clone(servicePath) returns a
// working discovery of that service with the same settings. It does not
// contact Consul. Bad arguments give an error wrapping ErrBadDiscovery.
func NewConsulDiscoveryTemplate(basePath string, consulAddr []string, options *share.RegistryOptions) (*ConsulDiscovery, error) {
	return newConsulDiscovery(basePath, "", consulAddr, options, true)
}

func newConsulDiscovery(basePath, servicePath string, consulAddr []string, options *share.RegistryOptions, template bool) (*ConsulDiscovery, error) {
	d := &ConsulDiscovery{RetriesAfterWatchFailed: -1}
	if ok, err := d.init("consul", basePath, servicePath, consulAddr, options, template); !ok {
		return d, err
	}
	d.prefix = d.dir + "/"
	for _, a := range d.addrs {
		c, tr, err := consulconn.New(a, options, 2)
		if err != nil {
			d.closeIdle()
			return d, d.fail(fmt.Errorf("%w: consul client for %q: %w", ErrBadDiscovery, a, err))
		}
		d.clients = append(d.clients, c)
		d.trs = append(d.trs, tr)
	}
	d.begin()
	var index uint64
	var err error
	for range d.clients { // try each address once
		if index, err = d.query(0, false); err == nil {
			break
		}
		d.cur = (d.cur + 1) % len(d.clients)
	}
	go d.run(index)
	if err != nil {
		return d, fmt.Errorf("%w: consul %v: %w (retrying in the background)", share.ErrRegistryUnavailable, d.addrs, err)
	}
	return d, nil
}

func (d *ConsulDiscovery) closeIdle() {
	for _, tr := range d.trs {
		tr.CloseIdleConnections()
	}
}

// query lists the prefix, blocking until the index passes index when
// block is set, publishes the list and returns the new index.
func (d *ConsulDiscovery) query(index uint64, block bool) (uint64, error) {
	timeout := d.options.Timeout()
	qo := &api.QueryOptions{}
	if block {
		qo.WaitIndex = index
		qo.WaitTime = consulWaitTime
		timeout += consulWaitTime + consulWaitTime/16 // Consul adds up to WaitTime/16 jitter
	}
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	pairs, meta, err := d.clients[d.cur].KV().List(d.prefix, qo.WithContext(ctx))
	if err != nil {
		return index, err
	}
	kvs := make(map[string]string, len(pairs))
	for _, p := range pairs {
		if k := strings.TrimPrefix(p.Key, d.prefix); k != "" && !strings.Contains(k, "/") {
			kvs[k] = string(p.Value)
		}
	}
	d.setRegistry(kvs)
	next := meta.LastIndex
	if next < index {
		next = 0 // the index went back (Consul restarted): start over
	}
	return next, nil
}

// run keeps a blocking query open, retrying failures with backoff, until
// Close.
func (d *ConsulDiscovery) run(index uint64) {
	defer close(d.done)
	failures := 0
	delay := time.Duration(0)
	for {
		next, err := d.query(index, true)
		if d.ctx.Err() != nil {
			return
		}
		if err == nil {
			if next == index {
				// Timed out without change, or the index did not move:
				// Consul's rule is to not loop faster than the backoff floor.
				if !sleepCtx(d.ctx.Done(), registryRetryMin) {
					return
				}
			}
			index, failures, delay = next, 0, 0
			continue
		}
		failures++
		if limit := d.RetriesAfterWatchFailed; limit >= 0 && failures > limit {
			log.Errorf("client: consul discovery of %q gave up after %d failed queries; keeping %d servers", d.servicePath, failures-1, len(d.GetServices()))
			return
		}
		log.Debugf("client: consul discovery of %q: query failed: %v", d.servicePath, err)
		d.cur = (d.cur + 1) % len(d.clients)
		index = 0 // the next answer is read in full, whatever the server's index
		delay = nextBackoff(delay)
		if !sleepCtx(d.ctx.Done(), delay+rand.N(delay/5+1)) {
			return
		}
		d.retries.Add(1)
	}
}

// Clone returns a new discovery of servicePath with the same Consul
// addresses, base path and options. Errors as for NewConsulDiscovery.
func (d *ConsulDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return NewConsulDiscovery(d.basePath, servicePath, d.addrs, d.options)
}

// Close stops the watch (interrupting a blocking query), releases the HTTP
// connections and closes every watcher channel. It is idempotent;
// GetServices keeps returning the last list.
func (d *ConsulDiscovery) Close() { d.close(d.closeIdle, d.closeWatchers) }
