//go:build etcd

package serverplugin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/courier-rpc/courier/internal/registryconn/etcdconn"
)

// Retry bounds of the registrar's background loop.
const (
	etcdRetryMin = 100 * time.Millisecond
	etcdRetryMax = 5 * time.Second
	// etcdAttemptMax caps each background request, so a request stuck on a
	// member that just died is retried soon through another one.
	etcdAttemptMax = 2 * time.Second
)

// etcdRegistrar keeps one plugin's entries in etcd: one lease, kept alive,
// to which every entry is attached; a new lease (and a rewrite) whenever
// the old one is lost.
type etcdRegistrar struct {
	changeQueue // entries, kick, register/update/unregister/poke
	cfg         etcdConfig
	timeout     time.Duration
	cli         *clientv3.Client
	registrarLoop
	tried  chan struct{} // closed after the first session attempt
	syncMu sync.Mutex    // serializes writers of etcd (sync)

	w sessionWrites[clientv3.LeaseID] // the lease and what was written under it

	mu    sync.Mutex
	ready bool // ServerStarted closed (or nil)
}

func newEtcdRegistrar(cfg etcdConfig) (*etcdRegistrar, error) {
	if len(cfg.servers) == 0 {
		return nil, fmt.Errorf("%w: no EtcdServers", ErrRegistryConfig)
	}
	if err := checkServiceAddress(cfg.serviceAddress); err != nil {
		return nil, err
	}
	cli, err := etcdconn.New(cfg.servers, cfg.options)
	if err != nil {
		return nil, fmt.Errorf("%w: etcd client: %w", ErrRegistryConfig, err)
	}
	r := &etcdRegistrar{
		cfg:           cfg,
		timeout:       cfg.options.Timeout(),
		cli:           cli,
		registrarLoop: newRegistrarLoop("etcd", cfg.servers, cfg.serviceAddress),
		changeQueue:   changeQueue{kick: make(chan struct{}, 1)},
		tried:         make(chan struct{}),
		ready:         cfg.serverStarted == nil,
	}
	r.flush = r.syncNow
	go r.run()
	return r, nil
}

func (r *etcdRegistrar) key(service string) string {
	return registryDir(r.cfg.basePath, service) + "/" + r.cfg.serviceAddress
}

// syncNow writes pending changes at once when a lease is held, so callers
// see their entry in etcd when Register returns. While the first session is
// being set up it waits for that (at most the connection timeout plus one
// attempt). A failure is left to the background loop (which retries) and
// not returned.
func (r *etcdRegistrar) syncNow() error {
	if r.ctx.Err() != nil {
		return ErrRegistryStopped
	}
	r.mu.Lock()
	ready := r.ready
	r.mu.Unlock()
	if ready {
		t := time.NewTimer(r.timeout + etcdAttemptMax)
		select {
		case <-r.tried:
		case <-r.ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	r.mu.Lock()
	ready = r.ready
	r.mu.Unlock()
	if ready && r.w.current() != 0 {
		if err := r.sync(); err != nil {
			r.poke()
		}
	}
	return nil
}

// sync brings etcd in line with desired under the current lease.
func (r *etcdRegistrar) sync() error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	vals := r.entries.snapshot(r.cfg.metrics, r.cfg.updateInterval)
	return r.w.apply(vals, func(name, value string, lease clientv3.LeaseID) error {
		ctx, cancel := context.WithTimeout(r.ctx, min(r.timeout, etcdAttemptMax))
		defer cancel()
		return r.putService(ctx, name, value, lease)
	}, func(name string) error {
		ctx, cancel := context.WithTimeout(r.ctx, min(r.timeout, etcdAttemptMax))
		defer cancel()
		if _, err := r.cli.Delete(ctx, r.key(name)); err != nil {
			return fmt.Errorf("delete %s: %w", r.key(name), err)
		}
		return nil
	})
}

func (r *etcdRegistrar) putService(ctx context.Context, name, value string, lease clientv3.LeaseID) error {
	err := r.w.ensureDir(name, func() error {
		dir := registryDir(r.cfg.basePath, name)
		if _, err := r.cli.Put(ctx, dir, name); err != nil {
			return fmt.Errorf("put %s: %w", dir, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	key := r.key(name)
	if _, had := r.entries.prior(name); !had {
		if _, err := r.cli.Put(ctx, key, value, clientv3.WithLease(lease)); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		r.entries.wrote(name, value, value)
		return nil
	}
	// Merge into the stored value (others' edits stay), unless it changed
	// between the read and the write.
	for attempt := 0; attempt < 3; attempt++ {
		resp, err := r.cli.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("get %s: %w", key, err)
		}
		stored, rev := "", int64(0)
		if len(resp.Kvs) > 0 {
			stored, rev = string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
		}
		full := r.entries.mergedValue(name, value, stored, rev != 0)
		txn, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, full, clientv3.WithLease(lease))).Commit()
		if err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		if txn.Succeeded {
			r.entries.wrote(name, value, full)
			return nil
		}
	}
	return fmt.Errorf("put %s: the entry keeps changing", key)
}

// run is the background loop: wait for ServerStarted, then keep a lease
// and the entries until stop.
func (r *etcdRegistrar) run() {
	defer close(r.done)
	if !r.awaitServer(r.cfg.serverStarted, &r.mu, &r.ready) {
		return
	}
	delay := time.Duration(0)
	first := true
	for {
		ka, kaCancel, err := r.session()
		if first {
			first = false
			close(r.tried)
		}
		if err == nil {
			delay = 0
			r.recovered()
			err = r.serve(ka)
			kaCancel()
		}
		if r.ctx.Err() != nil {
			return
		}
		r.outage(err)
		delay = min(max(2*delay, etcdRetryMin), etcdRetryMax)
		if !r.sleep(delay + rand.N(delay/5+1)) {
			return
		}
	}
}

// session grants a lease, starts its keepalive and writes every entry.
func (r *etcdRegistrar) session() (<-chan *clientv3.LeaseKeepAliveResponse, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(r.ctx, min(r.timeout, etcdAttemptMax))
	lease, err := r.cli.Grant(ctx, int64(r.cfg.ttl/time.Second))
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("grant lease: %w", err)
	}
	kaCtx, kaCancel := context.WithCancel(r.ctx)
	ka, err := r.cli.KeepAlive(kaCtx, lease.ID)
	if err != nil {
		kaCancel()
		return nil, nil, fmt.Errorf("keep lease alive: %w", err)
	}
	r.w.begin(lease.ID)
	if err := r.sync(); err != nil {
		kaCancel()
		r.w.end()
		return nil, nil, err
	}
	return ka, kaCancel, nil
}

// serve keeps the session until the lease is lost (returns an error) or
// the registrar stops (returns nil). Failed writes are retried with backoff
// while the lease lives.
func (r *etcdRegistrar) serve(ka <-chan *clientv3.LeaseKeepAliveResponse) error {
	var tick <-chan time.Time
	if r.cfg.metrics != nil && r.cfg.updateInterval > 0 {
		t := time.NewTicker(r.cfg.updateInterval)
		defer t.Stop()
		tick = t.C
	}
	retry := time.NewTimer(0)
	if !retry.Stop() {
		<-retry.C
	}
	defer retry.Stop()
	delay := time.Duration(0)
	for {
		select {
		case <-r.ctx.Done():
			return nil
		case _, ok := <-ka:
			if !ok {
				r.w.end()
				return errors.New("lease lost")
			}
			continue
		case <-tick:
		case <-r.kick:
		case <-retry.C:
		}
		if err := r.sync(); err != nil {
			if errors.Is(err, rpctypes.ErrLeaseNotFound) {
				r.w.end()
				return err
			}
			r.outage(err)
			delay = min(max(2*delay, etcdRetryMin), etcdRetryMax)
			retry.Reset(delay)
			continue
		}
		delay = 0
		r.recovered()
	}
}

// stop ends the loop, revokes the lease (which deletes every entry of this
// plugin) and closes the client.
func (r *etcdRegistrar) stop() error {
	r.end()
	r.syncMu.Lock() // wait for a Register in flight
	lease, _ := r.w.end()
	r.syncMu.Unlock()
	var err error
	if lease != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		if _, rerr := r.cli.Revoke(ctx, lease); rerr != nil {
			err = fmt.Errorf("serverplugin: deregister %s from etcd (entries expire within %v): %w", r.cfg.serviceAddress, r.cfg.ttl, rerr)
		}
		cancel()
	}
	if cerr := r.cli.Close(); cerr != nil && err == nil && !errors.Is(cerr, context.Canceled) {
		err = fmt.Errorf("serverplugin: close etcd client: %w", cerr)
	}
	return err
}
