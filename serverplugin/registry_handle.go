package serverplugin

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metrics "github.com/rcrowley/go-metrics"
)

// registrar is the started state of one register plugin: it keeps the
// plugin's entries in its registry (ZooKeeper, Consul) until stop.
type registrar interface {
	stop() error
	register(name, metadata string) error
	unregister(name string) error
	update(name, metadata string) error
}

// registryHandle holds a plugin's registrar (nil before Start and after
// Stop) and the lock guarding it and the plugin's Services field. Its
// methods are safe for concurrent use.
type registryHandle struct {
	mu      sync.Mutex
	r       registrar
	stopped bool
}

func (h *registryHandle) start(services *[]string, newRegistrar func() (registrar, error)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r != nil {
		return nil
	}
	r, err := newRegistrar()
	if err != nil {
		return err
	}
	h.r = r
	h.stopped = false
	*services = nil
	return nil
}

func (h *registryHandle) stop() error {
	h.mu.Lock()
	r := h.r
	h.r = nil
	h.stopped = h.stopped || r != nil
	h.mu.Unlock()
	if r == nil {
		return nil
	}
	return r.stop()
}

func (h *registryHandle) registrar() (registrar, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r == nil {
		if h.stopped {
			return nil, ErrRegistryStopped
		}
		return nil, ErrRegistryNotStarted
	}
	return h.r, nil
}

func (h *registryHandle) register(services *[]string, name, metadata string) error {
	r, err := h.registrar()
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
	r, err := h.registrar()
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
	r, err := h.registrar()
	if err != nil {
		return err
	}
	return r.update(name, metadata)
}

// changeQueue is what the ZooKeeper and Consul registrars share: the
// desired entries, a kick channel (buffered, 1) that wakes their background
// loop, and register/update/unregister that record a change and write it
// at once through flush (the registrar's syncNow; failures are left to
// the loop).
type changeQueue struct {
	entries entrySet
	kick    chan struct{}
	flush   func() error
}

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

// entrySet is the desired content of a registrar: service name ->
// metadata as registered. It is safe for concurrent use.
type entrySet struct {
	mu      sync.Mutex
	desired map[string]string
}

func (s *entrySet) set(name, metadata string) error {
	if name == "" {
		return fmt.Errorf("%w: empty service name", ErrRegistryConfig)
	}
	s.mu.Lock()
	if s.desired == nil {
		s.desired = make(map[string]string)
	}
	s.desired[name] = metadata
	s.mu.Unlock()
	return nil
}

func (s *entrySet) replace(name, metadata string) error {
	s.mu.Lock()
	_, ok := s.desired[name]
	if ok {
		s.desired[name] = metadata
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: service %q is not registered", ErrRegistryConfig, name)
	}
	return nil
}

func (s *entrySet) remove(name string) {
	s.mu.Lock()
	delete(s.desired, name)
	s.mu.Unlock()
}

// snapshot returns the published value of every service: its metadata,
// plus "tps=N" (the one-minute rate of the "calls" meter) when reg is set
// and updateInterval is positive.
func (s *entrySet) snapshot(reg metrics.Registry, updateInterval time.Duration) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.desired))
	for name, md := range s.desired {
		out[name] = withTPS(md, reg, updateInterval)
	}
	return out
}

// withTPS appends "tps=N" to metadata when metrics are kept.
func withTPS(metadata string, reg metrics.Registry, updateInterval time.Duration) string {
	if reg == nil || updateInterval <= 0 {
		return metadata
	}
	tps := strconv.FormatInt(int64(metrics.GetOrRegisterMeter("calls", reg).Rate1()), 10)
	if metadata == "" {
		return "tps=" + tps
	}
	return metadata + "&tps=" + tps
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
