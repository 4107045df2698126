package main

import (
	"context"
	"fmt"

	"github.com/courier-rpc/courier/client"
	rclient "github.com/smallnest/rpcx/client"
)

// caller is a client of one run: its call function, its attempt counter
// (courier only; -1 otherwise) and how to close it.
type caller struct {
	call  callFn
	stats func() client.XClientStats
	close func()
}

func work(ctx context.Context, n int, do func(ctx context.Context, args *Req, reply *Rep) error) error {
	args, reply := Req{N: n}, Rep{}
	if err := do(ctx, &args, &reply); err != nil {
		return err
	}
	if reply.N != n {
		return fmt.Errorf("reply %d for %d", reply.N, n)
	}
	return nil
}

// courierX is a courier XClient of Svc over addrs.
func courierX(addrs []string, fm client.FailMode, sm client.SelectMode, opt client.Option) (*caller, error) {
	pairs := make([]*client.KVPair, len(addrs))
	for i, a := range addrs {
		pairs[i] = &client.KVPair{Key: "tcp@" + a}
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		return nil, err
	}
	x := client.NewXClient("Svc", fm, sm, d, opt)
	return &caller{
		call: func(ctx context.Context, n int) error {
			return work(ctx, n, func(ctx context.Context, a *Req, r *Rep) error { return x.Call(ctx, "Work", a, r) })
		},
		stats: x.Stats,
		close: func() { _ = x.Close(); d.Close() },
	}, nil
}

// rpcxX is an rpcx v1.9.1 XClient of Svc over addrs.
func rpcxX(addrs []string, fm rclient.FailMode, sm rclient.SelectMode, opt rclient.Option) (*caller, error) {
	pairs := make([]*rclient.KVPair, len(addrs))
	for i, a := range addrs {
		pairs[i] = &rclient.KVPair{Key: "tcp@" + a}
	}
	d, err := rclient.NewMultipleServersDiscovery(pairs)
	if err != nil {
		return nil, err
	}
	x := rclient.NewXClient("Svc", fm, sm, d, opt)
	return &caller{
		call: func(ctx context.Context, n int) error {
			return work(ctx, n, func(ctx context.Context, a *Req, r *Rep) error { return x.Call(ctx, "Work", a, r) })
		},
		close: func() { _ = x.Close(); d.Close() },
	}, nil
}

// courierConn is one courier Client connection to addr (no fail mode).
func courierConn(addr string) (*caller, error) {
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", addr); err != nil {
		return nil, err
	}
	return &caller{
		call: func(ctx context.Context, n int) error {
			return work(ctx, n, func(ctx context.Context, a *Req, r *Rep) error { return c.Call(ctx, "Svc", "Work", a, r) })
		},
		close: func() { _ = c.Close() },
	}, nil
}

// rpcxConn is one rpcx Client connection to addr.
func rpcxConn(addr string) (*caller, error) {
	c := rclient.NewClient(rclient.DefaultOption)
	if err := c.Connect("tcp", addr); err != nil {
		return nil, err
	}
	return &caller{
		call: func(ctx context.Context, n int) error {
			return work(ctx, n, func(ctx context.Context, a *Req, r *Rep) error { return c.Call(ctx, "Svc", "Work", a, r) })
		},
		close: func() { _ = c.Close() },
	}, nil
}
