//go:build consul

package serverplugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/courier-rpc/courier/internal/registryconn/consulconn"
)

// Retry bounds of the Consul registrar's background loop.
const (
	consulRetryMin = 100 * time.Millisecond
	consulRetryMax = 5 * time.Second
)

// consulReap is how long Consul keeps the agent service of a dead server
// (its check critical) before removing it; 1 minute is Consul's minimum.
const consulReap = "1m"

var errConsulSessionLost = errors.New("consul session lost")

// consulRegistrar keeps one plugin's keys in Consul under a session bound
// to a TTL check of its own agent service.
type consulRegistrar struct {
	changeQueue // entries, kick, register/update/unregister/poke
	cfg         consulConfig
	timeout     time.Duration
	clients     []*api.Client
	trs         []*http.Transport
	serviceID   string
	checkID     string
	registrarLoop
	syncMu sync.Mutex            // serializes writers of Consul (sync)
	w      sessionWrites[string] // the session and what was written under it

	mu    sync.Mutex
	cur   int  // index of the client in use
	ready bool // ServerStarted closed (or nil)
}

func newConsulRegistrar(cfg consulConfig) (registrar, error) {
	if len(cfg.servers) == 0 {
		return nil, fmt.Errorf("%w: no ConsulServers", ErrRegistryConfig)
	}
	if err := checkServiceAddress(cfg.serviceAddress); err != nil {
		return nil, err
	}
	r := &consulRegistrar{
		cfg:           cfg,
		timeout:       cfg.options.Timeout(),
		registrarLoop: newRegistrarLoop("consul", cfg.servers, cfg.serviceAddress),
		changeQueue:   changeQueue{kick: make(chan struct{}, 1)},
	}
	r.flush = r.syncNow
	for _, s := range cfg.servers {
		c, tr, err := consulconn.New(s, cfg.options, 4)
		if err != nil {
			r.closeIdle()
			return nil, fmt.Errorf("%w: consul client for %q: %w", ErrRegistryConfig, s, err)
		}
		r.clients = append(r.clients, c)
		r.trs = append(r.trs, tr)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	r.serviceID = "courier-" + strings.NewReplacer("/", "_", "@", "-").Replace(cfg.serviceAddress) + "-" + hex.EncodeToString(rnd[:])
	r.checkID = "service:" + r.serviceID
	go r.run()
	return r, nil
}

func (r *consulRegistrar) closeIdle() {
	for _, tr := range r.trs {
		tr.CloseIdleConnections()
	}
}

func (r *consulRegistrar) client() *api.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clients[r.cur]
}

// rotate moves to the next Consul server after a failure.
func (r *consulRegistrar) rotate() {
	r.mu.Lock()
	r.cur = (r.cur + 1) % len(r.clients)
	r.mu.Unlock()
}

func (r *consulRegistrar) key(service string) string {
	return registryDir(r.cfg.basePath, service) + "/" + r.cfg.serviceAddress
}

func (r *consulRegistrar) wopts() (*api.WriteOptions, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	return (&api.WriteOptions{}).WithContext(ctx), cancel
}

func (r *consulRegistrar) qopts() (*api.QueryOptions, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	return (&api.QueryOptions{}).WithContext(ctx), cancel
}

// syncNow writes pending changes at once when a session is held, so the
// key exists when Register returns; failures are left to the background
// loop.
func (r *consulRegistrar) syncNow() error {
	if r.ctx.Err() != nil {
		return ErrRegistryStopped
	}
	r.mu.Lock()
	ready := r.ready
	r.mu.Unlock()
	if ready && r.w.current() != "" {
		if err := r.sync(); err == nil {
			return nil
		}
	}
	r.poke()
	return nil
}

// sync brings the KV store in line with the entries under the session.
func (r *consulRegistrar) sync() error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	vals := r.entries.snapshot(r.cfg.metrics, r.cfg.updateInterval)
	kv := r.client().KV()
	err := r.w.apply(vals, func(name, value, session string) error {
		return r.put(kv, name, value, session)
	}, func(name string) error {
		wo, cancel := r.wopts()
		defer cancel()
		if _, err := kv.Delete(r.key(name), wo); err != nil {
			return fmt.Errorf("delete %s: %w", r.key(name), err)
		}
		return nil
	})
	if errors.Is(err, errNoSession) {
		return errConsulSessionLost
	}
	return err
}

// put writes the service dir key once, then acquires the server's key with
// the session, its value the plugin's part own merged into the stored value
// once the service was published (see entrySet.mergedValue). A key held by
// another session (this address's previous process) is deleted and
// acquired again.
func (r *consulRegistrar) put(kv *api.KV, name, own, session string) error {
	err := r.w.ensureDir(name, func() error {
		dir := registryDir(r.cfg.basePath, name)
		wo, cancel := r.wopts()
		defer cancel()
		if _, err := kv.Put(&api.KVPair{Key: dir, Value: []byte(name)}, wo); err != nil {
			return fmt.Errorf("put %s: %w", dir, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	key := r.key(name)
	for attempt := 0; attempt < 2; attempt++ {
		full, err := r.merged(kv, key, name, own)
		if err != nil {
			return err
		}
		wo, cancel := r.wopts()
		ok, _, err := kv.Acquire(&api.KVPair{Key: key, Value: []byte(full), Session: session}, wo)
		cancel()
		if err != nil {
			return fmt.Errorf("acquire %s: %w", key, err)
		}
		if ok {
			r.entries.wrote(name, own, full)
			return nil
		}
		// Held by another session, or ours is gone.
		qo, qcancel := r.qopts()
		se, _, err := r.client().Session().Info(session, qo)
		qcancel()
		if err != nil {
			return fmt.Errorf("session info: %w", err)
		}
		if se == nil {
			return errConsulSessionLost
		}
		wo, cancel = r.wopts()
		_, err = kv.Delete(key, wo)
		cancel()
		if err != nil {
			return fmt.Errorf("replace %s: %w", key, err)
		}
	}
	return fmt.Errorf("acquire %s: held by another session", key)
}

// merged returns the value to store for name: own when the service was not
// published since it was registered, else own merged into the stored value
// (read back first).
func (r *consulRegistrar) merged(kv *api.KV, key, name, own string) (string, error) {
	if _, had := r.entries.prior(name); !had {
		return own, nil
	}
	qo, cancel := r.qopts()
	pair, _, err := kv.Get(key, qo)
	cancel()
	if err != nil {
		return "", fmt.Errorf("get %s: %w", key, err)
	}
	if pair == nil {
		return r.entries.mergedValue(name, own, "", false), nil
	}
	return r.entries.mergedValue(name, own, string(pair.Value), true), nil
}

// establish registers the agent service with its TTL check (passing),
// creates a session bound to the check and writes every key.
func (r *consulRegistrar) establish() error {
	c := r.client()
	host, port := splitServiceHostPort(r.cfg.serviceAddress)
	reg := &api.AgentServiceRegistration{
		ID:      r.serviceID,
		Name:    "courier",
		Address: host,
		Port:    port,
		Meta:    map[string]string{"courier_address": r.cfg.serviceAddress, "courier_base": r.cfg.basePath},
		Check: &api.AgentServiceCheck{
			CheckID:                        r.checkID,
			TTL:                            r.cfg.ttl.String(),
			Status:                         api.HealthPassing,
			DeregisterCriticalServiceAfter: consulReap,
		},
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	err := c.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx))
	cancel()
	if err != nil {
		return fmt.Errorf("register agent service: %w", err)
	}
	r.dropSession()
	wo, wcancel := r.wopts()
	id, _, err := c.Session().Create(&api.SessionEntry{
		Name:          "courier " + r.cfg.serviceAddress,
		Behavior:      api.SessionBehaviorDelete,
		LockDelay:     time.Millisecond,
		NodeChecks:    []string{"serfHealth"},
		ServiceChecks: []api.ServiceCheck{{ID: r.checkID}},
	}, wo)
	wcancel()
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	r.w.begin(id)
	return r.sync()
}

// dropSession forgets the session (destroying it best effort).
func (r *consulRegistrar) dropSession() {
	if id, _ := r.w.end(); id != "" {
		wo, cancel := r.wopts()
		_, _ = r.client().Session().Destroy(id, wo)
		cancel()
	}
}

// heartbeat passes the TTL check and verifies the session still exists.
func (r *consulRegistrar) heartbeat() error {
	c := r.client()
	qo, cancel := r.qopts()
	err := c.Agent().UpdateTTLOpts(r.checkID, "", api.HealthPassing, qo)
	cancel()
	if err != nil {
		return fmt.Errorf("pass check: %w", err)
	}
	qo, cancel = r.qopts()
	se, _, err := c.Session().Info(r.w.current(), qo)
	cancel()
	if err != nil {
		return fmt.Errorf("session info: %w", err)
	}
	if se == nil {
		return errConsulSessionLost
	}
	return nil
}

// run is the background loop: wait for ServerStarted, establish, then
// heartbeat every TTL/3 and write changes; any failure re-establishes with
// backoff.
func (r *consulRegistrar) run() {
	defer close(r.done)
	if !r.awaitServer(r.cfg.serverStarted, &r.mu, &r.ready) {
		return
	}
	beat := time.NewTicker(max(r.cfg.ttl/3, 100*time.Millisecond))
	defer beat.Stop()
	var tick <-chan time.Time
	if r.cfg.metrics != nil && r.cfg.updateInterval > 0 {
		t := time.NewTicker(r.cfg.updateInterval)
		defer t.Stop()
		tick = t.C
	}
	delay := time.Duration(0)
	for r.ctx.Err() == nil {
		if err := r.establish(); err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.outage(err)
			r.rotate()
			delay = min(max(2*delay, consulRetryMin), consulRetryMax)
			if !r.sleep(delay + mrand.N(delay/5+1)) {
				return
			}
			continue
		}
		delay = 0
		r.recovered()
		err := r.serve(beat.C, tick)
		if r.ctx.Err() != nil {
			return
		}
		r.outage(err)
	}
}

// serve heartbeats and syncs until a failure (returned) or stop (nil).
func (r *consulRegistrar) serve(beat, tick <-chan time.Time) error {
	for {
		select {
		case <-r.ctx.Done():
			return nil
		case <-beat:
			if err := r.heartbeat(); err != nil {
				return err
			}
		case <-tick:
		case <-r.kick:
		}
		if err := r.sync(); err != nil {
			return err
		}
	}
}

// stop ends the loop, deletes the keys, destroys the session and
// deregisters the agent service (each bounded by the connection timeout).
func (r *consulRegistrar) stop() error {
	r.end()
	r.syncMu.Lock() // wait for a Register in flight
	defer r.syncMu.Unlock()
	defer r.closeIdle()
	session, names := r.w.end()
	if session == "" {
		return nil
	}
	c := r.client()
	var errs []error
	do := func(f func(ctx context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		if err := f(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range names {
		k := r.key(name)
		do(func(ctx context.Context) error {
			_, err := c.KV().Delete(k, (&api.WriteOptions{}).WithContext(ctx))
			return err
		})
		if len(errs) > 0 {
			break // Consul is not answering: let the TTL do the rest
		}
	}
	if len(errs) == 0 {
		do(func(ctx context.Context) error {
			_, err := c.Session().Destroy(session, (&api.WriteOptions{}).WithContext(ctx))
			return err
		})
		do(func(ctx context.Context) error {
			return c.Agent().ServiceDeregisterOpts(r.serviceID, (&api.QueryOptions{}).WithContext(ctx))
		})
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("serverplugin: deregister %s from consul (keys expire within %v): %w", r.cfg.serviceAddress, r.cfg.ttl, err)
	}
	return nil
}
