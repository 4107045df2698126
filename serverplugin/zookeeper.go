//go:build zookeeper

package serverplugin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/courier-rpc/courier/internal/registryconn/zkconn"
)

// Retry bounds of the ZooKeeper registrar's background loop.
const (
	zkRetryMin = 100 * time.Millisecond
	zkRetryMax = 5 * time.Second
)

var errZKNoSession = errors.New("no zookeeper session")

// zkRegistrar keeps one plugin's ephemeral nodes in ZooKeeper, recreating
// them whenever the plugin's session is replaced.
type zkRegistrar struct {
	changeQueue // entries, kick, register/update/unregister/poke
	cfg         zkConfig
	timeout     time.Duration
	conn        *zk.Conn
	events      <-chan zk.Event
	registrarLoop
	syncMu sync.Mutex           // serializes writers of ZooKeeper (sync)
	w      sessionWrites[int64] // the session id and what was written under it

	mu    sync.Mutex
	ready bool // ServerStarted closed (or nil)
}

func newZKRegistrar(cfg zkConfig) (registrar, error) {
	if len(cfg.servers) == 0 {
		return nil, fmt.Errorf("%w: no ZooKeeperServers", ErrRegistryConfig)
	}
	if err := checkServiceAddress(cfg.serviceAddress); err != nil {
		return nil, err
	}
	if strings.Contains(cfg.serviceAddress, "/") {
		return nil, fmt.Errorf("%w: ServiceAddress %q contains '/', which cannot be a ZooKeeper node name", ErrRegistryConfig, cfg.serviceAddress)
	}
	conn, events, err := zkconn.Connect(cfg.servers, cfg.session, cfg.options, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: zookeeper client: %w", ErrRegistryConfig, err)
	}
	r := &zkRegistrar{
		cfg:           cfg,
		timeout:       cfg.options.Timeout(),
		conn:          conn,
		events:        events,
		registrarLoop: newRegistrarLoop("zookeeper", cfg.servers, cfg.serviceAddress),
		changeQueue:   changeQueue{kick: make(chan struct{}, 1)},
	}
	r.flush = r.syncNow
	go r.run()
	return r, nil
}

func (r *zkRegistrar) dir(service string) string {
	return "/" + registryDir(r.cfg.basePath, service)
}

func (r *zkRegistrar) path(service string) string {
	return r.dir(service) + "/" + r.cfg.serviceAddress
}

// syncNow writes pending changes at once when a session is up, so the node
// exists when Register returns; failures are left to the background loop.
func (r *zkRegistrar) syncNow() error {
	if r.ctx.Err() != nil {
		return ErrRegistryStopped
	}
	r.mu.Lock()
	ready := r.ready
	r.mu.Unlock()
	if ready && r.conn.State() == zk.StateHasSession {
		if err := r.sync(); err == nil {
			return nil
		}
	}
	r.poke()
	return nil
}

// sync brings ZooKeeper in line with the entries under the current session.
func (r *zkRegistrar) sync() error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if r.conn.State() != zk.StateHasSession {
		return errZKNoSession
	}
	r.w.begin(r.conn.SessionID())
	vals := r.entries.snapshot(r.cfg.metrics, r.cfg.updateInterval)
	err := r.w.apply(vals, r.put, func(name string) error {
		if err := r.conn.Delete(r.path(name), -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("delete %s: %w", r.path(name), err)
		}
		return nil
	})
	if errors.Is(err, errNoSession) {
		return errZKNoSession
	}
	return err
}

// put creates (or updates) the ephemeral node of service name with the
// plugin's value own, merged into the stored data once the service was
// published (see entrySet.mergedValue). A node left by another session
// (this address's previous process, or this plugin's expired session) is
// replaced, keeping its data for the merge.
func (r *zkRegistrar) put(name, own string, sid int64) error {
	if err := r.w.ensureDir(name, func() error { return zkCreateParents(r.conn, r.dir(name)) }); err != nil {
		return err
	}
	path := r.path(name)
	stored, found := "", false
	for attempt := 0; attempt < 3; attempt++ {
		full := r.entries.mergedValue(name, own, stored, found)
		_, err := r.conn.Create(path, []byte(full), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		if err == nil {
			r.entries.wrote(name, own, full)
			return nil
		}
		if !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", path, err)
		}
		data, stat, err := r.conn.Get(path)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get %s: %w", path, err)
		}
		stored, found = string(data), true
		if stat.EphemeralOwner == sid {
			full = r.entries.mergedValue(name, own, stored, true)
			_, err := r.conn.Set(path, []byte(full), stat.Version)
			if err == nil {
				r.entries.wrote(name, own, full)
				return nil
			}
			if !errors.Is(err, zk.ErrBadVersion) {
				return fmt.Errorf("set %s: %w", path, err)
			}
			continue
		}
		if err := r.conn.Delete(path, stat.Version); err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
			return fmt.Errorf("replace stale %s: %w", path, err)
		}
	}
	return fmt.Errorf("create %s: node keeps changing", path)
}

// zkCreateParents creates every node of path that does not exist yet, as
// persistent nodes without data.
func zkCreateParents(conn *zk.Conn, path string) error {
	cur := ""
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if part == "" {
			continue
		}
		cur += "/" + part
		_, err := conn.Create(cur, nil, 0, zk.WorldACL(zk.PermAll))
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", cur, err)
		}
	}
	return nil
}

// run is the background loop: wait for ServerStarted, then keep the nodes
// in place until stop, re-syncing on every new session, change and tick.
func (r *zkRegistrar) run() {
	defer close(r.done)
	if !r.awaitServer(r.cfg.serverStarted, &r.mu, &r.ready) {
		return
	}
	var tick <-chan time.Time
	if r.cfg.metrics != nil && r.cfg.updateInterval > 0 {
		t := time.NewTicker(r.cfg.updateInterval)
		defer t.Stop()
		tick = t.C
	}
	retry := time.NewTimer(0) // first sync at once
	defer retry.Stop()
	delay := time.Duration(0)
	for {
		select {
		case <-r.ctx.Done():
			return
		case ev, ok := <-r.events:
			if !ok {
				return
			}
			if ev.Type != zk.EventSession || ev.State != zk.StateHasSession {
				continue
			}
		case <-tick:
		case <-r.kick:
		case <-retry.C:
		}
		if err := r.sync(); err != nil {
			if !errors.Is(err, errZKNoSession) {
				r.outage(err)
			}
			delay = min(max(2*delay, zkRetryMin), zkRetryMax)
			retry.Reset(delay + rand.N(delay/5+1))
			continue
		}
		delay = 0
		r.recovered()
	}
}

// stop ends the loop, deletes the nodes (bounded by the connection
// timeout) and closes the session, which removes any node left.
func (r *zkRegistrar) stop() error {
	r.end()
	r.syncMu.Lock() // wait for a Register in flight
	defer r.syncMu.Unlock()
	_, names := r.w.end()
	paths := make([]string, 0, len(names))
	for _, name := range names {
		paths = append(paths, r.path(name))
	}
	var err error
	if len(paths) > 0 && r.conn.State() == zk.StateHasSession {
		errc := make(chan error, 1)
		go func() {
			var first error
			for _, p := range paths {
				if e := r.conn.Delete(p, -1); e != nil && !errors.Is(e, zk.ErrNoNode) && first == nil {
					first = e
				}
			}
			errc <- first
		}()
		t := time.NewTimer(r.timeout)
		select {
		case err = <-errc:
		case <-t.C:
			err = context.DeadlineExceeded
		}
		t.Stop()
		r.conn.Close() // ends a Delete still waiting
		if err != nil {
			err = fmt.Errorf("serverplugin: deregister %s from zookeeper (nodes go with the session): %w", r.cfg.serviceAddress, err)
		}
		return err
	}
	r.conn.Close()
	return nil
}
