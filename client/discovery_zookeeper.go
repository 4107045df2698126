//go:build zookeeper

package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/courier-rpc/courier/internal/registryconn/zkconn"
	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// zkDiscoverySession is the ZooKeeper session timeout a discovery asks for.
// It only matters for how long a discovery may be cut off from ZooKeeper
// and still keep its watches; its list is kept regardless.
const zkDiscoverySession = 10 * time.Second

// ErrZooKeeperNotCompiled is returned by the ZooKeeper discovery when
// courier was built without the "zookeeper" build tag; this build has
// ZooKeeper support, so nothing returns it here.
var ErrZooKeeperNotCompiled = errors.New("courier: zookeeper support not compiled in; rebuild with -tags zookeeper")

// ZookeeperDiscovery is a ServiceDiscovery backed by ZooKeeper. It lists
// the children "network@address" of the node "/basePath/servicePath"
// (rpcx's layout) with their data as URL-encoded metadata, drops servers
// whose metadata says state=inactive, and watches the node and every
// child, so servers joining, leaving and changing metadata are seen at
// once.
//
// When ZooKeeper is unreachable the discovery keeps its last good list;
// go-zookeeper reconnects (about once a second) and re-arms the watches,
// and when the session was lost the discovery re-reads the list, retrying
// with a backoff of 100 ms doubling to 5 s, so changes made during the
// outage arrive as soon as ZooKeeper answers again. Compiled in with the
// build tag "zookeeper"; without it the constructors return
// ErrZooKeeperNotCompiled. It is safe for concurrent use.
type ZookeeperDiscovery struct {
	// RetriesAfterWatchFailed is how many consecutive failed re-reads the
	// watch loop tries before it gives up (keeping the last list); negative,
	// the default, means forever. Set it right after construction.
	RetriesAfterWatchFailed int

	registrySource
	zdir   string // "/" + dir
	conn   *zk.Conn
	fired  zkFired           // watch events, recorded by go-zookeeper's event callback
	armed  map[string]bool   // paths with an outstanding watch (run goroutine only)
	primed bool              // a first unwatched request was answered (run goroutine only)
	data   map[string]string // child -> data, valid while its data watch is armed (run goroutine only)
	serverList

	retries atomic.Int64 // re-reads after failures (for tests)
}

// NewZookeeperDiscovery returns a discovery of the servers of servicePath
// registered under basePath in the ZooKeeper ensemble zkAddr ("host:port").
// It waits at most options' connection timeout (default
// share.DefaultRegistryConnectionTimeout) for a session and reads the list
// once, then watches. A service with no node yet gives an empty list that
// fills as servers register.
//
// The discovery is never nil, even with an error. ZooKeeper not answering
// gives an error wrapping share.ErrRegistryUnavailable and a discovery that
// starts empty and keeps trying, so a client built on it works as soon as
// ZooKeeper answers and a server registers. Bad arguments give an error
// wrapping ErrBadDiscovery and a discovery that stays empty. It never
// panics.
func NewZookeeperDiscovery(basePath string, servicePath string, zkAddr []string, options *share.RegistryOptions) (*ZookeeperDiscovery, error) {
	return newZookeeperDiscovery(basePath, servicePath, zkAddr, options, false)
}

// NewZookeeperDiscoveryTemplate returns a template discovery for XClient
// pools and OneClient: it lists nothing itself; Clone(servicePath) returns
// a working discovery of that service with the same settings. It does not
// contact ZooKeeper. Bad arguments give an error wrapping ErrBadDiscovery.
func NewZookeeperDiscoveryTemplate(basePath string, zkAddr []string, options *share.RegistryOptions) (*ZookeeperDiscovery, error) {
	return newZookeeperDiscovery(basePath, "", zkAddr, options, true)
}

func newZookeeperDiscovery(basePath, servicePath string, zkAddr []string, options *share.RegistryOptions, template bool) (*ZookeeperDiscovery, error) {
	d := &ZookeeperDiscovery{
		RetriesAfterWatchFailed: -1,
		fired:                   zkFired{paths: make(map[string]bool), kick: make(chan struct{}, 1)},
		armed:                   make(map[string]bool),
		data:                    make(map[string]string),
	}
	if ok, err := d.init("zookeeper", basePath, servicePath, zkAddr, options, template); !ok {
		return d, err
	}
	d.zdir = "/" + d.dir
	conn, events, err := zkconn.Connect(d.addrs, zkDiscoverySession, options, d.fired.event)
	if err != nil {
		return d, d.fail(fmt.Errorf("%w: zookeeper client: %w", ErrBadDiscovery, err))
	}
	d.conn = conn
	d.begin()
	err = zkconn.WaitSession(context.Background(), events, options.Timeout())
	if err == nil {
		err = d.refresh()
	}
	go d.run(err != nil)
	if err != nil {
		return d, fmt.Errorf("%w: zookeeper %v: %w (retrying in the background)", share.ErrRegistryUnavailable, d.addrs, err)
	}
	return d, nil
}

// zkFired records the watch events go-zookeeper's callback reports (it runs
// in go-zookeeper's reader and must not block): the paths whose watch fired
// and whether the session expired (which drops every watch). One callback
// for all watches, instead of a goroutine waiting on each watch's channel,
// keeps a discovery of N servers at a constant number of goroutines. It is
// safe for concurrent use.
type zkFired struct {
	mu      sync.Mutex
	paths   map[string]bool
	expired bool
	kick    chan struct{} // buffered(1): something was recorded
}

func (f *zkFired) event(ev zk.Event) {
	f.mu.Lock()
	switch {
	case ev.Type == zk.EventSession && ev.State == zk.StateExpired:
		f.expired = true
	case ev.Type != zk.EventSession && ev.Path != "":
		f.paths[ev.Path] = true
	default:
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// arm notes an outstanding watch on key (a path, or a path plus
// zkExistsSuffix for an existence watch).
func (d *ZookeeperDiscovery) arm(key string) { d.armed[key] = true }

// zkExistsSuffix marks the existence watch of a path in armed.
const zkExistsSuffix = "\x00exists"

// takeFired forgets the watches that fired (all of them when the session
// expired), so the next refresh reads and arms them again.
func (d *ZookeeperDiscovery) takeFired() {
	f := &d.fired
	f.mu.Lock()
	paths, expired := f.paths, f.expired
	f.paths, f.expired = make(map[string]bool), false
	f.mu.Unlock()
	if expired {
		clear(d.armed)
		return
	}
	for p := range paths {
		delete(d.armed, p)
		delete(d.armed, p+zkExistsSuffix)
	}
}

// children lists the service node's children, arming a children watch
// when none is outstanding. While the node does not exist it arms an
// existence watch instead and returns no children.
func (d *ZookeeperDiscovery) children() ([]string, error) {
	if d.armed[d.zdir] {
		c, _, err := d.conn.Children(d.zdir)
		if errors.Is(err, zk.ErrNoNode) {
			return nil, nil // the children watch fires with the deletion
		}
		return c, err
	}
	existsKey := d.zdir + zkExistsSuffix
	for attempt := 0; attempt < 3; attempt++ {
		c, _, _, err := d.conn.ChildrenW(d.zdir)
		if err == nil {
			d.arm(d.zdir)
			return c, nil
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return nil, err
		}
		if d.armed[existsKey] {
			return nil, nil // the existence watch fires with the creation
		}
		exists, _, _, err := d.conn.ExistsW(d.zdir)
		if err != nil {
			return nil, err
		}
		d.arm(existsKey)
		if !exists {
			return nil, nil
		}
		// Created meanwhile: list it now.
	}
	return nil, fmt.Errorf("%s keeps being created and deleted", d.zdir)
}

// refresh reads the children and publishes the list. A child's data is
// read (arming its data watch) only when it is new or its data watch
// fired; otherwise the cached data stands, so a change costs one children
// read plus one read per changed child, not one per child. On error the
// list is kept.
func (d *ZookeeperDiscovery) refresh() error {
	if !d.primed {
		// go-zookeeper v1.0.4 reads lastZxid unsynchronized while it
		// re-sends watches right after a session is up; a first request
		// without a watch lets that pass before any watch exists (a data
		// race the race detector sees otherwise).
		if _, _, err := d.conn.Exists("/"); err != nil {
			return err
		}
		d.primed = true
	}
	children, err := d.children()
	if err != nil {
		return err
	}
	kvs := make(map[string]string, len(children))
	for _, child := range children {
		p := d.zdir + "/" + child
		if v, ok := d.data[child]; ok && d.armed[p] {
			kvs[child] = v
			continue
		}
		data, _, _, err := d.conn.GetW(p)
		if errors.Is(err, zk.ErrNoNode) {
			continue // gone meanwhile; the children watch fires
		}
		if err != nil {
			return err
		}
		d.arm(p)
		d.data[child] = string(data)
		kvs[child] = string(data)
	}
	for child := range d.data {
		if _, ok := kvs[child]; !ok {
			delete(d.data, child) // its watch fires with the deletion, or already did
		}
	}
	d.setRegistry(kvs)
	return nil
}

// run re-reads the list whenever a watch fires (and at once when stale:
// the constructor could not read it), until Close.
func (d *ZookeeperDiscovery) run(stale bool) {
	defer close(d.done)
	for {
		if stale && !d.refreshRetrying() {
			return
		}
		select {
		case <-d.ctx.Done():
			return
		case <-d.fired.kick:
		}
		d.takeFired()
		stale = true
	}
}

// refreshRetrying refreshes until it succeeds, retrying with backoff; it
// reports false when the discovery closed or gave up.
func (d *ZookeeperDiscovery) refreshRetrying() bool {
	failures := 0
	delay := time.Duration(0)
	for {
		err := d.refresh()
		if err == nil {
			return true
		}
		if d.ctx.Err() != nil {
			return false
		}
		failures++
		if limit := d.RetriesAfterWatchFailed; limit >= 0 && failures > limit {
			log.Errorf("client: zookeeper discovery of %q gave up after %d failed reads; keeping %d servers", d.servicePath, failures-1, len(d.GetServices()))
			return false
		}
		log.Debugf("client: zookeeper discovery of %q: read failed: %v", d.servicePath, err)
		delay = nextBackoff(delay)
		if !sleepCtx(d.ctx.Done(), delay+rand.N(delay/5+1)) {
			return false
		}
		d.retries.Add(1)
		d.takeFired()
	}
}

// Clone returns a new discovery of servicePath with the same ZooKeeper
// addresses, base path and options (its own session and watches). Errors
// as for NewZookeeperDiscovery.
func (d *ZookeeperDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return NewZookeeperDiscovery(d.basePath, servicePath, d.addrs, d.options)
}

// Close stops watching, closes the ZooKeeper session and every watcher
// channel. It is idempotent; GetServices keeps returning the last list.
func (d *ZookeeperDiscovery) Close() {
	d.close(func() {
		if d.conn != nil {
			d.conn.Close()
		}
	}, d.closeWatchers)
}
