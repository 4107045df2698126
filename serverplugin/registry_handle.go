package serverplugin

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// registrar is the started state of one register plugin: it keeps the
// plugin's entries in its registry (ZooKeeper, Consul) until stop.
type registrar interface {
	stop() error
	register(name, metadata string) error
	unregister(name string) error
	update(name, metadata string) error
	book() *entrySet // the registrar's entries (readiness, last writes)
}

// ReadinessNotifier is told when a register plugin's readiness changes;
// *server.Server implements it (NotifyReadiness wakes the watchers of its
// readiness: the Health service's Watch).
type ReadinessNotifier interface {
	NotifyReadiness()
}

// registryHandle holds a plugin's registrar (nil before Start and after
// Stop), the services registered before Start, and the lock guarding them
// and the plugin's Services field. Its methods are safe for concurrent use.
//
// Register before Start (rpcx's plugins accept it, and programs that learn
// their address only after listening rely on it) records the service in
// pending; Start hands every pending service to the new registrar, which
// publishes it by its own rules (after ServerStarted, when set).
//
// Readiness (server.ReadinessPlugin, through each plugin's Ready): false
// before Start and after Stop; in between, true once every registered
// service has been published (see entrySet). The plugin's notifier learns
// every change.
type registryHandle struct {
	mu      sync.Mutex
	r       registrar
	notify  ReadinessNotifier // nil: none
	stopped bool
	pending map[string]string // service -> metadata registered before Start
	order   []string          // pending's names in registration order
}

func (h *registryHandle) start(services *[]string, notify ReadinessNotifier, newRegistrar func() (registrar, error)) error {
	h.mu.Lock()
	if h.r != nil {
		h.mu.Unlock()
		return nil
	}
	r, err := newRegistrar()
	if err != nil {
		h.mu.Unlock()
		return err
	}
	h.notify = notify
	if notify != nil {
		r.book().watch(notify.NotifyReadiness)
	}
	h.r = r
	h.stopped = false
	*services = nil
	err = h.publishPendingLocked(services)
	h.mu.Unlock()
	notifyReady(notify)
	return err
}

// ready reports whether the plugin is started and every registered service
// was published; it is the plugins' Ready.
func (h *registryHandle) ready() bool {
	h.mu.Lock()
	r := h.r
	h.mu.Unlock()
	return r != nil && r.book().published()
}

func notifyReady(n ReadinessNotifier) {
	if n != nil {
		n.NotifyReadiness()
	}
}

// publishPendingLocked registers the services recorded before Start with
// the new registrar h.r (the plugin's "publish now" step for them) and
// moves them to services. h.mu is held by the caller.
func (h *registryHandle) publishPendingLocked(services *[]string) error {
	var errs []error
	for _, name := range h.order {
		if err := h.r.register(name, h.pending[name]); err != nil {
			errs = append(errs, fmt.Errorf("serverplugin: register %q (registered before Start): %w", name, err))
			continue
		}
		*services = append(*services, name)
	}
	h.pending, h.order = nil, nil
	return errors.Join(errs...)
}

func (h *registryHandle) stop() error {
	h.mu.Lock()
	r := h.r
	h.r = nil
	h.stopped = h.stopped || r != nil
	h.pending, h.order = nil, nil
	notify := h.notify
	h.mu.Unlock()
	if r == nil {
		return nil
	}
	r.book().watch(nil)
	notifyReady(notify)
	return r.stop()
}

// registrar returns the started registrar: nil before Start, and
// ErrRegistryStopped after Stop.
func (h *registryHandle) registrar() (registrar, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r == nil && h.stopped {
		return nil, ErrRegistryStopped
	}
	return h.r, nil
}

// live returns the started registrar, or ErrRegistryStopped when there is
// none (stopped, or never started: callers look at pending first).
func (h *registryHandle) live() (registrar, error) {
	r, err := h.registrar()
	if err == nil && r == nil {
		err = ErrRegistryStopped
	}
	return r, err
}

// recordPending notes a Register before Start; it reports false when the
// plugin started meanwhile (the caller then registers for real).
func (h *registryHandle) recordPending(services *[]string, name, metadata string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r != nil {
		return false, nil
	}
	if h.stopped {
		return true, ErrRegistryStopped
	}
	if name == "" {
		return true, fmt.Errorf("%w: empty service name", ErrRegistryConfig)
	}
	if h.pending == nil {
		h.pending = make(map[string]string)
	}
	if _, ok := h.pending[name]; !ok {
		h.order = append(h.order, name)
	}
	h.pending[name] = metadata
	if !slices.Contains(*services, name) {
		*services = append(*services, name)
	}
	return true, nil
}

func (h *registryHandle) register(services *[]string, name, metadata string) error {
	if done, err := h.recordPending(services, name, metadata); done {
		return err
	}
	r, err := h.live()
	if err != nil {
		return err
	}
	if err := r.register(name, metadata); err != nil {
		return err
	}
	h.mu.Lock()
	if !slices.Contains(*services, name) {
		*services = append(*services, name)
	}
	h.mu.Unlock()
	return nil
}

func (h *registryHandle) unregister(services *[]string, name string) error {
	h.mu.Lock()
	if h.r == nil && !h.stopped {
		if _, ok := h.pending[name]; ok {
			delete(h.pending, name)
			h.order = slices.DeleteFunc(h.order, func(s string) bool { return s == name })
		}
		*services = slices.DeleteFunc(*services, func(s string) bool { return s == name })
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	r, err := h.live()
	if err != nil {
		return err
	}
	if err := r.unregister(name); err != nil {
		return err
	}
	h.mu.Lock()
	*services = slices.DeleteFunc(*services, func(s string) bool { return s == name })
	h.mu.Unlock()
	return nil
}

func (h *registryHandle) update(name, metadata string) error {
	h.mu.Lock()
	if h.r == nil && !h.stopped {
		err := replaceRegistered(h.pending, name, metadata)
		h.mu.Unlock()
		return err
	}
	h.mu.Unlock()
	r, err := h.live()
	if err != nil {
		return err
	}
	return r.update(name, metadata)
}

// errNotRegistered is UpdateMetadata's error for an unknown service.
func errNotRegistered(name string) error {
	return fmt.Errorf("%w: service %q is not registered", ErrRegistryConfig, name)
}

// changeQueue is what the etcd, ZooKeeper and Consul registrars share: the
// desired entries, a kick channel (buffered, 1) that wakes their background
// loop, and register/update/unregister that record a change and write it
// at once through flush (the registrar's syncNow; failures are left to
// the loop).
type changeQueue struct {
	entries entrySet
	kick    chan struct{}
	flush   func() error
}

func (q *changeQueue) book() *entrySet { return &q.entries }

func (q *changeQueue) poke() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

func (q *changeQueue) register(name, metadata string) error {
	if err := q.entries.set(name, metadata); err != nil {
		return err
	}
	return q.flush()
}

func (q *changeQueue) update(name, metadata string) error {
	if err := q.entries.replace(name, metadata); err != nil {
		return err
	}
	return q.flush()
}

func (q *changeQueue) unregister(name string) error {
	q.entries.remove(name)
	return q.flush()
}

// splitServiceHostPort returns the host and port of "network@host:port"
// (port 0 when the address has none, e.g. a Unix socket).
func splitServiceHostPort(serviceAddress string) (string, int) {
	_, hostport, _ := strings.Cut(serviceAddress, "@")
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport, 0
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return host, 0
	}
	return host, port
}
