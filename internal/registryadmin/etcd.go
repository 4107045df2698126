package registryadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/courier-rpc/courier/internal/registryconn/etcdconn"
)

// etcdAdmin reads the keys "base/Service/network@address" and, for rpcx
// servers that write a leading slash, "/base/Service/network@address".
type etcdAdmin struct {
	t        Target
	o        Options
	cli      *clientv3.Client
	prefixes []string
	rev      atomic.Int64 // revision of the newest list (Changed watches after it)
}

func openEtcd(ctx context.Context, t Target, o Options) (Admin, error) {
	cli, err := etcdconn.New(t.Addrs, o.registryOptions())
	if err != nil {
		return nil, fmt.Errorf("%w: etcd %v: %w", ErrUnavailable, t.Addrs, err)
	}
	a := &etcdAdmin{t: t, o: o, cli: cli, prefixes: []string{""}}
	if t.BasePath != "" {
		a.prefixes = []string{t.BasePath + "/", "/" + t.BasePath + "/"}
	}
	if _, err := a.Services(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	return a, nil
}

func (a *etcdAdmin) Target() Target { return a.t }

func (a *etcdAdmin) Close() error { return a.cli.Close() }

func (a *etcdAdmin) unavailable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: etcd %v: %w", ErrUnavailable, a.t.Addrs, err)
}

func (a *etcdAdmin) Services(ctx context.Context) ([]Service, error) {
	ctx, cancel := context.WithTimeout(ctx, a.o.timeout())
	defer cancel()
	c := collector{}
	var rev int64
	for _, p := range a.prefixes {
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev)) // every prefix at one revision
		}
		resp, err := a.cli.Get(ctx, p, opts...)
		if err != nil {
			return nil, a.unavailable(err)
		}
		if rev == 0 {
			rev = resp.Header.Revision // a Get at WithRev answers the newest revision here
		}
		for _, kv := range resp.Kvs {
			c.add(strings.TrimPrefix(string(kv.Key), p), string(kv.Value))
		}
	}
	for {
		old := a.rev.Load()
		if rev <= old || a.rev.CompareAndSwap(old, rev) {
			break
		}
	}
	return c.services(), nil
}

func (a *etcdAdmin) Changed(ctx context.Context) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	rev := a.rev.Load() + 1
	events := make(chan error, len(a.prefixes))
	for _, p := range a.prefixes {
		wc := a.cli.Watch(ctx, p, clientv3.WithPrefix(), clientv3.WithRev(rev))
		go func() {
			for resp := range wc {
				if err := resp.Err(); err != nil {
					events <- a.unavailable(err)
					return
				}
				if len(resp.Events) > 0 {
					events <- nil
					return
				}
			}
			events <- ctx.Err()
		}()
	}
	select {
	case err := <-events:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *etcdAdmin) Update(ctx context.Context, service, key string, c Change) (string, error) {
	if err := checkEntry(service, key); err != nil {
		return "", err
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, a.o.timeout())
	defer cancel()
	for range maxUpdateAttempts {
		k, kv, err := a.find(ctx, service, key)
		if err != nil {
			return "", err
		}
		val, err := c.Apply(string(kv.Value))
		if err != nil {
			return "", err
		}
		resp, err := a.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", kv.ModRevision)).
			Then(clientv3.OpPut(k, val, clientv3.WithIgnoreLease())).
			Commit()
		if err != nil {
			return "", a.unavailable(err)
		}
		if resp.Succeeded {
			return val, nil
		}
	}
	return "", fmt.Errorf("%w: %s/%s", ErrConflict, service, key)
}

// find returns the stored key and value of a server entry.
func (a *etcdAdmin) find(ctx context.Context, service, key string) (string, *kvPair, error) {
	for _, p := range a.prefixes {
		k := p + service + "/" + key
		resp, err := a.cli.Get(ctx, k)
		if err != nil {
			return "", nil, a.unavailable(err)
		}
		if len(resp.Kvs) == 1 {
			kv := resp.Kvs[0]
			return k, &kvPair{Value: kv.Value, ModRevision: kv.ModRevision}, nil
		}
	}
	return "", nil, fmt.Errorf("%w: server %s of service %s", ErrNotFound, key, service)
}

// kvPair is what Update needs of an etcd key.
type kvPair struct {
	Value       []byte
	ModRevision int64
}
