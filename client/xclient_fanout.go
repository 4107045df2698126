package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	cerrors "github.com/courier-rpc/courier/errors"
)

// fanoutResult is the outcome of one server in Broadcast, Fork and Inform.
type fanoutResult struct {
	key   string
	reply interface{}
	err   error
}

// fanout calls serviceMethod on every server at once, each with its own
// reply value, and sends each outcome on the returned channel (closed when
// all are done). It fails with ErrXClientNoServer when there is none.
func (x *xClient) fanout(ctx context.Context, serviceMethod string, args, reply interface{}, fork bool) (<-chan fanoutResult, int, error) {
	servers, _, closed := x.snapshot()
	if closed {
		return nil, 0, ErrXClientShutdown
	}
	if len(servers) == 0 {
		return nil, 0, x.errNoServer()
	}
	keys := sortedKeys(servers)
	if fork {
		keys = x.forkKeys(serviceMethod, keys)
	}
	out := make(chan fanoutResult, len(keys))
	var wg sync.WaitGroup
	for _, key := range keys {
		r := newReplyLike(reply)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := x.attempt(ctx, key, serviceMethod, attemptCall{method: serviceMethod, args: args, reply: r})
			if err != nil {
				err = fmt.Errorf("%s: %w", key, err)
			}
			out <- fanoutResult{key: key, reply: r, err: err}
		}()
	}
	go func() { wg.Wait(); close(out) }()
	return out, len(keys), nil
}

// forkKeys returns the servers Fork asks: all of keys (in a random order,
// so that the budget does not always spare the same ones) as far as the
// retry budget allows extra requests, only one for a non-idempotent
// method.
func (x *xClient) forkKeys(serviceMethod string, keys []string) []string {
	x.deposit()
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	if !x.idempotent(serviceMethod) {
		return keys[:1]
	}
	n := 1
	for n < len(keys) && x.withdraw() {
		n++
		x.stats.hedges.Add(1)
	}
	return keys[:n]
}

// around runs PreCall plugins, op, then PostCall plugins.
func (x *xClient) around(ctx context.Context, kind CallKind, serviceMethod string, args, reply interface{}, op func(ctx context.Context) error) error {
	ctx, oc := x.startObservedCall(ctx, serviceMethod, kind)
	plugins := x.GetPlugins()
	if err := plugins.DoPreCall(ctx, x.servicePath, serviceMethod, args); err != nil {
		oc.end(ctx, err)
		return err
	}
	err := op(ctx)
	if perr := plugins.DoPostCall(ctx, x.servicePath, serviceMethod, args, reply, err); perr != nil && err == nil {
		err = perr
	}
	oc.end(ctx, err)
	return err
}

// Broadcast calls serviceMethod on every server (selector and fail mode
// are not used) and succeeds only if all succeed; reply gets one of the
// replies. Otherwise it returns a *errors.MultiError holding each failed
// server's error prefixed by its key (errors.Is sees through it). It waits
// for every server or for ctx: set a timeout.
func (x *xClient) Broadcast(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error {
	ctx = x.withAuth(ctx)
	return x.around(ctx, KindBroadcast, serviceMethod, args, reply, func(ctx context.Context) error {
		results, _, err := x.fanout(ctx, serviceMethod, args, reply, false)
		if err != nil {
			return err
		}
		var errs cerrors.MultiError
		copied := false
		for r := range results {
			if r.err != nil {
				errs.Append(r.err)
			} else if !copied {
				copyReply(reply, r.reply)
				copied = true
			}
		}
		if err := errs.ErrorOrNil(); err != nil {
			return finalErr(ctx, err)
		}
		return nil
	})
}

// Fork calls serviceMethod on every server at once (selector and fail
// mode are not used), as far as the retry budget allows extra requests and
// on one server only for a non-idempotent method; the first success fills
// reply and cancels the others. When all fail it returns a *errors.MultiError of their errors.
func (x *xClient) Fork(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error {
	ctx = x.withAuth(ctx)
	return x.around(ctx, KindFork, serviceMethod, args, reply, func(ctx context.Context) error {
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		results, _, err := x.fanout(fctx, serviceMethod, args, reply, true)
		if err != nil {
			return err
		}
		var errs cerrors.MultiError
		for r := range results {
			if r.err == nil {
				copyReply(reply, r.reply)
				return nil
			}
			errs.Append(r.err)
		}
		return finalErr(ctx, errs.ErrorOrNil())
	})
}

// Inform calls serviceMethod on every server (selector and fail mode are
// not used) and returns one Receipt per server, in key order, each with
// its own reply value of reply's type. The error is a *errors.MultiError
// when at least one server failed. reply itself is not written.
func (x *xClient) Inform(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) ([]Receipt, error) {
	ctx = x.withAuth(ctx)
	var receipts []Receipt
	err := x.around(ctx, KindInform, serviceMethod, args, reply, func(ctx context.Context) error {
		results, n, err := x.fanout(ctx, serviceMethod, args, reply, false)
		if err != nil {
			return err
		}
		byKey := make(map[string]fanoutResult, n)
		var errs cerrors.MultiError
		for r := range results {
			byKey[r.key] = r
			if r.err != nil {
				errs.Append(r.err)
			}
		}
		for _, k := range sortedKeys(mapKeys(byKey)) {
			r := byKey[k]
			receipts = append(receipts, Receipt{Address: r.key, Reply: r.reply, Error: r.err})
		}
		return errs.ErrorOrNil()
	})
	return receipts, err
}

func mapKeys(m map[string]fanoutResult) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return out
}
