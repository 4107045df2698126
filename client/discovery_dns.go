package client

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/courier-rpc/courier/log"
)

// DefaultDNSInterval is the lookup period of a DNSDiscovery created with a
// non-positive interval.
const DefaultDNSInterval = time.Minute

// DNSDiscovery finds servers by resolving a domain name: every address the
// name resolves to becomes a server "network@ip:port". It resolves again
// every interval and notifies watchers when the set changes; a failed
// lookup keeps the last list. It is safe for concurrent use; Close stops
// its goroutine.
type DNSDiscovery struct {
	domain   string
	network  string
	port     int
	interval time.Duration
	lookup   func(ctx context.Context, host string) ([]string, error)

	serverList
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewDNSDiscovery resolves domain now and then every d (DefaultDNSInterval
// when d <= 0). An empty domain or a port outside 1..65535 gives an error
// wrapping ErrBadDiscovery; a failed first lookup is not an error: the list
// stays empty until a lookup succeeds.
func NewDNSDiscovery(domain string, network string, port int, d time.Duration) (*DNSDiscovery, error) {
	return newDNSDiscovery(domain, network, port, d, net.DefaultResolver.LookupHost)
}

func newDNSDiscovery(domain, network string, port int, d time.Duration, lookup func(context.Context, string) ([]string, error)) (*DNSDiscovery, error) {
	if domain == "" {
		return nil, fmt.Errorf("%w: empty domain", ErrBadDiscovery)
	}
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("%w: port %d", ErrBadDiscovery, port)
	}
	if network == "" {
		network = "tcp"
	}
	if d <= 0 {
		d = DefaultDNSInterval
	}
	dd := &DNSDiscovery{domain: domain, network: network, port: port, interval: d, lookup: lookup,
		stop: make(chan struct{}), done: make(chan struct{})}
	dd.resolve()
	go dd.loop()
	return dd, nil
}

func (d *DNSDiscovery) loop() {
	defer close(d.done)
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.resolve()
		}
	}
}

// resolve looks the domain up once and publishes a changed list.
func (d *DNSDiscovery) resolve() {
	timeout := min(d.interval, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-d.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	addrs, err := d.lookup(ctx, d.domain)
	if err != nil {
		log.Warnf("client: dns discovery of %s: %v (keeping the last list)", d.domain, err)
		return
	}
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	pairs := make([]*KVPair, 0, len(addrs))
	for _, a := range addrs {
		pairs = append(pairs, &KVPair{Key: d.network + "@" + net.JoinHostPort(a, strconv.Itoa(d.port))})
	}
	if !slices.EqualFunc(pairs, d.snapshot(), func(a, b *KVPair) bool { return a.Key == b.Key }) {
		d.replace(pairs)
	}
}

// Clone returns another DNSDiscovery of the same domain (DNS knows no
// service paths).
func (d *DNSDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return newDNSDiscovery(d.domain, d.network, d.port, d.interval, d.lookup)
}

// Close stops the lookups, waits for the goroutine and closes watchers. It
// may be called more than once.
func (d *DNSDiscovery) Close() {
	d.closeOnce.Do(func() {
		close(d.stop)
		<-d.done
		d.closeWatchers()
	})
}
