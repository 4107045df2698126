package registryadmin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
)

// consulWait bounds each blocking query of Changed.
const consulWait = 30 * time.Second

// consulAdmin reads the KV keys "base/Service/network@address".
type consulAdmin struct {
	t      Target
	o      Options
	kv     *api.KV
	tr     *http.Transport
	prefix string
	index  atomic.Uint64 // Consul index of the newest list (Changed waits past it)
}

func openConsul(ctx context.Context, t Target, o Options) (Admin, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.timeout(), KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = t.Addrs[0]
	cfg.Token = o.Password
	cfg.HttpClient = &http.Client{Transport: tr}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: consul %v: %w", ErrUnavailable, t.Addrs, err)
	}
	a := &consulAdmin{t: t, o: o, kv: c.KV(), tr: tr}
	if t.BasePath != "" {
		a.prefix = t.BasePath + "/"
	}
	if _, err := a.Services(ctx); err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	return a, nil
}

func (a *consulAdmin) Target() Target { return a.t }

func (a *consulAdmin) Close() error { a.tr.CloseIdleConnections(); return nil }

func (a *consulAdmin) unavailable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: consul %v: %w", ErrUnavailable, a.t.Addrs, err)
}

func (a *consulAdmin) list(ctx context.Context, wait uint64) ([]Service, uint64, error) {
	timeout := a.o.timeout()
	qo := &api.QueryOptions{}
	if wait > 0 {
		qo.WaitIndex, qo.WaitTime = wait, consulWait
		timeout += consulWait + consulWait/16 // Consul adds up to WaitTime/16 of jitter
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pairs, meta, err := a.kv.List(a.prefix, qo.WithContext(ctx))
	if err != nil {
		return nil, 0, a.unavailable(err)
	}
	c := collector{}
	for _, p := range pairs {
		c.add(strings.TrimPrefix(p.Key, a.prefix), string(p.Value))
	}
	return c.services(), meta.LastIndex, nil
}

func (a *consulAdmin) Services(ctx context.Context) ([]Service, error) {
	list, idx, err := a.list(ctx, 0)
	if err == nil {
		a.index.Store(idx)
	}
	return list, err
}

func (a *consulAdmin) Changed(ctx context.Context) error {
	idx := max(a.index.Load(), 1)
	// Returns when the index moved past idx or the wait ran out (then the
	// caller lists again, which is cheap, and waits again).
	_, _, err := a.list(ctx, idx)
	return err
}

func (a *consulAdmin) Update(ctx context.Context, service, key string, c Change) (string, error) {
	if err := checkEntry(service, key); err != nil {
		return "", err
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, a.o.timeout())
	defer cancel()
	k := a.prefix + service + "/" + key
	for range maxUpdateAttempts {
		p, _, err := a.kv.Get(k, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return "", a.unavailable(err)
		}
		if p == nil {
			return "", fmt.Errorf("%w: server %s of service %s", ErrNotFound, key, service)
		}
		val, err := c.Apply(string(p.Value))
		if err != nil {
			return "", err
		}
		// A plain (CAS) write keeps the key's session lock.
		ok, _, err := a.kv.CAS(&api.KVPair{Key: k, Value: []byte(val), Flags: p.Flags, ModifyIndex: p.ModifyIndex},
			(&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return "", a.unavailable(err)
		}
		if ok {
			return val, nil
		}
	}
	return "", fmt.Errorf("%w: %s/%s", ErrConflict, service, key)
}
