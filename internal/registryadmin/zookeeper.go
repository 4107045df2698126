package registryadmin

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/courier-rpc/courier/internal/registryconn/zkconn"
)

// zkSession is the session timeout the admin connection asks for.
const zkSession = 10 * time.Second

// zkAdmin reads the nodes "/base/Service/network@address". go-zookeeper
// queues requests while it reconnects, so every request runs under
// zkCall's timeout.
type zkAdmin struct {
	t    Target
	o    Options
	conn *zk.Conn
	root string
	sum  atomic.Uint64 // fingerprint of the newest list (Changed compares)
}

func openZooKeeper(ctx context.Context, t Target, o Options) (Admin, error) {
	conn, events, err := zkconn.Connect(t.Addrs, zkSession, o.registryOptions(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: zookeeper %v: %w", ErrUnavailable, t.Addrs, err)
	}
	a := &zkAdmin{t: t, o: o, conn: conn, root: "/" + t.BasePath}
	if err := zkconn.WaitSession(ctx, events, o.timeout()); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: zookeeper %v: %w", ErrUnavailable, t.Addrs, err)
	}
	go func() {
		for range events { // drained until Close closes it
		}
	}()
	// go-zookeeper re-sends watches right after a session is up while it
	// reads its last zxid unsynchronized; one plain request first.
	if _, err := a.Services(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return a, nil
}

func (a *zkAdmin) Target() Target { return a.t }

func (a *zkAdmin) Close() error { a.conn.Close(); return nil }

// zkCall runs f with the admin's timeout; a request queued behind a
// reconnect is abandoned (it finishes or fails when go-zookeeper does).
func zkCall[T any](ctx context.Context, a *zkAdmin, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	t := time.NewTimer(a.o.timeout())
	defer t.Stop()
	var zero T
	select {
	case r := <-ch:
		if r.err != nil && !errors.Is(r.err, zk.ErrNoNode) && !errors.Is(r.err, zk.ErrBadVersion) {
			return zero, fmt.Errorf("%w: zookeeper %v: %w", ErrUnavailable, a.t.Addrs, r.err)
		}
		return r.v, r.err
	case <-t.C:
		return zero, fmt.Errorf("%w: zookeeper %v: no answer within %v", ErrUnavailable, a.t.Addrs, a.o.timeout())
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

type zkNode struct {
	data     []byte
	stat     *zk.Stat
	children []string
	watch    <-chan zk.Event
}

func (a *zkAdmin) children(ctx context.Context, p string, watch bool) (zkNode, error) {
	return zkCall(ctx, a, func() (zkNode, error) {
		if watch {
			ch, st, w, err := a.conn.ChildrenW(p)
			return zkNode{children: ch, stat: st, watch: w}, err
		}
		ch, st, err := a.conn.Children(p)
		return zkNode{children: ch, stat: st}, err
	})
}

func (a *zkAdmin) get(ctx context.Context, p string, watch bool) (zkNode, error) {
	return zkCall(ctx, a, func() (zkNode, error) {
		if watch {
			d, st, w, err := a.conn.GetW(p)
			return zkNode{data: d, stat: st, watch: w}, err
		}
		d, st, err := a.conn.Get(p)
		return zkNode{data: d, stat: st}, err
	})
}

func (a *zkAdmin) path(parts ...string) string {
	return "/" + join(append([]string{a.t.BasePath}, parts...)...)
}

// list reads every service and server; with watch it also returns the
// watches it armed on the root, each service node and each server node.
func (a *zkAdmin) list(ctx context.Context, watch bool) ([]Service, []<-chan zk.Event, error) {
	var watches []<-chan zk.Event
	root, err := a.children(ctx, a.path(), watch)
	if errors.Is(err, zk.ErrNoNode) {
		if watch {
			w, err := zkCall(ctx, a, func() (<-chan zk.Event, error) {
				_, _, w, err := a.conn.ExistsW(a.path())
				return w, err
			})
			if err != nil {
				return nil, nil, err
			}
			watches = append(watches, w)
		}
		return []Service{}, watches, nil
	}
	if err != nil {
		return nil, nil, err
	}
	watches = append(watches, root.watch)
	c := collector{}
	for _, svc := range root.children {
		c.add(svc, "")
		dir, err := a.children(ctx, a.path(svc), watch)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		watches = append(watches, dir.watch)
		for _, key := range dir.children {
			n, err := a.get(ctx, a.path(svc, key), watch)
			if errors.Is(err, zk.ErrNoNode) {
				continue
			} else if err != nil {
				return nil, nil, err
			}
			watches = append(watches, n.watch)
			c.add(svc+"/"+key, string(n.data))
		}
	}
	return c.services(), watches, nil
}

func fingerprint(list []Service) uint64 {
	h := fnv.New64a()
	for _, s := range list {
		fmt.Fprintf(h, "%s\x00", s.Name)
		for _, srv := range s.Servers {
			fmt.Fprintf(h, "%s\x00%s\x00", srv.Key, srv.Metadata)
		}
		h.Write([]byte{1})
	}
	return h.Sum64()
}

func (a *zkAdmin) Services(ctx context.Context) ([]Service, error) {
	list, _, err := a.list(ctx, false)
	if err == nil {
		a.sum.Store(fingerprint(list))
	}
	return list, err
}

func (a *zkAdmin) Changed(ctx context.Context) error {
	list, watches, err := a.list(ctx, true)
	if err != nil {
		return err
	}
	if fingerprint(list) != a.sum.Load() {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fired := make(chan struct{}, 1)
	for _, w := range watches {
		go func() {
			select {
			case <-w:
				select {
				case fired <- struct{}{}:
				default:
				}
			case <-ctx.Done():
			}
		}()
	}
	select {
	case <-fired:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *zkAdmin) Update(ctx context.Context, service, key string, c Change) (string, error) {
	if err := checkEntry(service, key); err != nil {
		return "", err
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	p := a.path(service, key)
	for range maxUpdateAttempts {
		n, err := a.get(ctx, p, false)
		if errors.Is(err, zk.ErrNoNode) {
			return "", fmt.Errorf("%w: server %s of service %s", ErrNotFound, key, service)
		} else if err != nil {
			return "", err
		}
		val, err := c.Apply(string(n.data))
		if err != nil {
			return "", err
		}
		_, err = zkCall(ctx, a, func() (*zk.Stat, error) { return a.conn.Set(p, []byte(val), n.stat.Version) })
		switch {
		case err == nil:
			return val, nil
		case errors.Is(err, zk.ErrNoNode):
			return "", fmt.Errorf("%w: server %s of service %s", ErrNotFound, key, service)
		case !errors.Is(err, zk.ErrBadVersion):
			return "", err
		}
	}
	return "", fmt.Errorf("%w: %s/%s", ErrConflict, service, key)
}
