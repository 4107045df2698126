package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// HealthCheckConfig turns on client-side health checking in an XClient
// (courier addition; Option.HealthCheck). Off by default.
//
// When Enabled, the XClient asks every server of its discovery list for
// its health through the server's Health service (package health) and
// takes a server that reports NOT_SERVING out of selection, for every
// selector and fail mode, Broadcast, Fork and Inform included, until it
// reports SERVING again. A server is selectable until it has reported
// NOT_SERVING; a server without a Health service (an rpcx server, or any
// that answers the check with an error) stays selectable; a server that
// cannot be reached keeps the status it last reported (breakers, reconnect
// backoff and outlier ejection deal with unreachable servers). When every
// server reports NOT_SERVING, calls fail with ErrXClientNoServer.
//
// Each server is watched with health's Watch long poll, on the XClient's
// own connection to it, so a status change (e.g. the first step of a
// server's Shutdown) takes the server out of selection within a round
// trip, and an idle server costs one request per Timeout. Checking adds
// nothing to the cost of a call: the selectable list is computed when a
// status or the discovery list changes.
type HealthCheckConfig struct {
	// Enabled turns health checking on.
	Enabled bool
	// Service is the service whose status is checked. Default: the
	// XClient's service path; a server that does not know it
	// (SERVICE_UNKNOWN) is judged by its whole-server status.
	Service string
	// Interval is the pause after a check that failed (server unreachable,
	// no Health service: then after Timeout) before the next one, and the
	// least time between two checks of one server. Default 1s.
	Interval time.Duration
	// Timeout is the longest one Watch call lasts: the server answers an
	// unchanged status before it (its own limit is 30 s); a check not
	// answered by then failed. Default 30s.
	Timeout time.Duration
}

func (c HealthCheckConfig) withDefaults() HealthCheckConfig {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return c
}

// HealthState is what an XClient's health checking knows of one server.
type HealthState struct {
	// Status is the last status the server reported ("" before its first
	// answer, or when it has no Health service).
	Status share.HealthStatus `json:"status,omitempty"`
	// Checked is when the server last answered a check.
	Checked time.Time `json:"checked,omitempty"`
	// Error is the error of the last check, if it failed.
	Error string `json:"error,omitempty"`
}

// serverWatch is the health of one server and the stop of its watcher.
type serverWatch struct {
	stop  context.CancelFunc
	state HealthState
}

// healthChecker watches the health of an XClient's servers. Its mutex
// guards servers and closed; each server's state is written only by that
// server's watcher goroutine (set), started and stopped by retain.
type healthChecker struct {
	x   *xClient
	cfg HealthCheckConfig
	wg  sync.WaitGroup

	mu      sync.Mutex
	servers map[string]*serverWatch
	closed  bool
}

func newHealthChecker(x *xClient, cfg HealthCheckConfig) *healthChecker {
	cfg = cfg.withDefaults()
	if cfg.Service == "" {
		cfg.Service = x.servicePath
	}
	return &healthChecker{x: x, cfg: cfg, servers: map[string]*serverWatch{}}
}

// publishLocked makes discovered (filtered by group and state) the
// XClient's server list: the selector, Broadcast and Fork get the servers
// health checking does not exclude, the connection cache and the health
// watchers follow every discovered server. The caller holds x.updateMu.
func (x *xClient) publishLocked(discovered map[string]string) {
	servers := x.health.filter(discovered)
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	x.discovered, x.servers = discovered, servers
	x.storeSnapshotLocked()
	sel := x.selector
	x.mu.Unlock()
	if x.outliers != nil {
		x.outliers.retain(servers)
	}
	if sel != nil {
		sel.UpdateServer(copyServers(servers))
	}
	x.cache.retain(discovered)
	x.health.retain(discovered)
}

// republish recomputes the server list after a health change.
func (x *xClient) republish() {
	x.updateMu.Lock()
	defer x.updateMu.Unlock()
	x.mu.RLock()
	d := x.discovered
	x.mu.RUnlock()
	if d != nil {
		x.publishLocked(d)
	}
}

// filter returns the servers of discovered that did not report
// NOT_SERVING (discovered itself when none did; a nil checker filters
// nothing).
func (h *healthChecker) filter(discovered map[string]string) map[string]string {
	if h == nil {
		return discovered
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out map[string]string
	for k := range discovered {
		if w := h.servers[k]; w != nil && w.state.Status == share.HealthNotServing {
			if out == nil {
				out = copyServers(discovered)
			}
			delete(out, k)
		}
	}
	if out == nil {
		return discovered
	}
	return out
}

// notServing reports how many discovered servers reported NOT_SERVING.
func (h *healthChecker) notServing() int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, w := range h.servers {
		if w.state.Status == share.HealthNotServing {
			n++
		}
	}
	return n
}

// retain starts a watcher for each new server of discovered and stops
// those of servers that left.
func (h *healthChecker) retain(discovered map[string]string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for k, w := range h.servers {
		if _, ok := discovered[k]; !ok {
			w.stop()
			delete(h.servers, k)
		}
	}
	for k := range discovered {
		if h.servers[k] != nil {
			continue
		}
		ctx, stop := context.WithCancel(context.Background())
		h.servers[k] = &serverWatch{stop: stop}
		h.wg.Add(1)
		go h.watch(ctx, k)
	}
}

// close stops every watcher and waits for them.
func (h *healthChecker) close() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.closed = true
	for _, w := range h.servers {
		w.stop()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// states returns a copy of every server's health state.
func (h *healthChecker) states() map[string]HealthState {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]HealthState, len(h.servers))
	for k, w := range h.servers {
		out[k] = w.state
	}
	return out
}

// set records the outcome of a check of key (st is kept as it was when
// err is not nil and keep is true) and republishes the server list when
// key's selectability changed.
func (h *healthChecker) set(key string, st share.HealthStatus, err error, keep bool) {
	h.mu.Lock()
	w := h.servers[key]
	if w == nil || h.closed {
		h.mu.Unlock()
		return
	}
	was := w.state.Status == share.HealthNotServing
	if err != nil {
		w.state.Error = err.Error()
		if !keep {
			w.state.Status = st
		}
	} else {
		w.state = HealthState{Status: st, Checked: time.Now()}
	}
	now := w.state.Status == share.HealthNotServing
	h.mu.Unlock()
	if was != now {
		if now {
			h.x.stats.notServing.Add(1)
		}
		h.x.republish()
	}
}

// watch follows the health of key until ctx ends: a Watch long poll that
// returns on every change, a pause after failures (see HealthCheckConfig).
func (h *healthChecker) watch(ctx context.Context, key string) {
	defer h.wg.Done()
	service := h.cfg.Service
	var last share.HealthStatus
	for {
		start := time.Now()
		st, err := h.check(ctx, key, service, last)
		if ctx.Err() != nil {
			return
		}
		wait := time.Duration(0)
		switch {
		case err != nil && IsServiceError(err): // no Health service: selectable, ask again later
			h.set(key, "", err, false)
			last, wait = "", h.cfg.Timeout
		case err != nil: // unreachable: keep its last status
			h.set(key, "", err, true)
			last, wait = "", h.cfg.Interval
		case st == share.HealthServiceUnknown && service != "":
			service, last = "", "" // judge the whole server instead
			continue
		default:
			h.set(key, st, nil, false)
			if st == last { // answered without a change: keep checks apart
				wait = h.cfg.Interval - time.Since(start)
			}
			last = st
		}
		if wait > 0 && !sleepCtx(ctx.Done(), wait) {
			return
		}
	}
}

// check sends one Watch of service to key, on the XClient's connection to
// it, in JSON whatever the XClient's codec, and returns the answered
// status.
func (h *healthChecker) check(ctx context.Context, key, service string, last share.HealthStatus) (share.HealthStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	cl, err := h.x.cache.get(ctx, key, share.HealthServiceName, "Watch")
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(share.HealthCheckRequest{Service: service, Last: last})
	if err != nil {
		return "", err
	}
	m := protocol.NewMessage()
	m.SetMessageType(protocol.Request)
	m.SetSerializeType(protocol.JSON)
	m.ServicePath, m.ServiceMethod, m.Payload = share.HealthServiceName, "Watch", payload
	_, body, err := cl.SendRaw(ctx, m)
	if err != nil {
		return "", err
	}
	var res share.HealthCheckResponse
	if err := json.Unmarshal(body, &res); err != nil {
		return "", fmt.Errorf("client: health check of %s: bad reply: %w", key, err)
	}
	return res.Status, nil
}
