package client

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errAllTried means every usable server was excluded (already tried).
var errAllTried = errors.New("client: every server was tried")

// attemptFunc performs one call on a connected client.
type attemptFunc func(ctx context.Context, cl RPCClient) error

// pick selects a server for a call, skipping servers in exclude and those
// whose breaker is open or that wait out a reconnect backoff. When the
// selector keeps choosing unusable servers, the first usable server in key
// order is taken. It fails with ErrXClientNoServer when there is no server,
// with ErrBreakerOpen or ErrServerUnavailable when none is usable, and with
// errAllTried when the usable ones are all excluded.
func (x *xClient) pick(ctx context.Context, serviceMethod string, args interface{}, exclude map[string]bool) (string, error) {
	servers, sel, closed := x.snapshot()
	if closed {
		return "", ErrXClientShutdown
	}
	if sel == nil {
		return "", fmt.Errorf("%w: no selector for select mode %v (call SetSelector)", ErrXClientNoServer, x.selectMode)
	}
	if p := x.sticky.Load(); x.option.Sticky && p != nil && *p != "" && !exclude[*p] && x.cache.usable(*p) == nil {
		if _, ok := servers[*p]; ok {
			return *p, nil
		}
	}
	selectFn := x.GetPlugins().DoWrapSelect(sel.Select)
	var blocked error
	excluded := false
	for i := 0; i <= len(servers); i++ {
		k := selectFn(ctx, x.servicePath, serviceMethod, args)
		if k == "" {
			return "", x.errNoServer()
		}
		if exclude[k] {
			excluded = true
			continue
		}
		err := x.cache.usable(k)
		if err == nil {
			return k, nil
		}
		blocked = err
	}
	for _, k := range sortedKeys(servers) {
		if exclude[k] {
			excluded = true
			continue
		}
		if err := x.cache.usable(k); err != nil {
			blocked = err
			continue
		}
		return k, nil
	}
	switch {
	case blocked != nil:
		return "", blocked
	case excluded:
		return "", errAllTried
	}
	return "", x.errNoServer()
}

// countsAsFailure reports whether err should count against a server's
// breaker: service errors (the server answered) and the caller's own
// cancellation do not.
func countsAsFailure(err error) bool {
	return err != nil && !IsServiceError(err) && !errors.Is(err, context.Canceled)
}

// attempt runs fn on the server key through its circuit breaker (invoked
// on every attempt). A breaker that refuses the call gives an error
// wrapping ErrBreakerOpen.
func (x *xClient) attempt(ctx context.Context, key, serviceMethod string, fn attemptFunc) error {
	run := func() error {
		cl, err := x.cache.get(ctx, key, x.servicePath, serviceMethod)
		if err != nil {
			return err
		}
		return fn(ctx, cl)
	}
	b := x.cache.breaker(key)
	var err error
	if b == nil {
		err = run()
	} else {
		ran := false
		var callErr error
		berr := b.Call(func() error {
			ran = true
			callErr = run()
			if countsAsFailure(callErr) {
				return callErr
			}
			return nil
		}, 0)
		switch {
		case ran:
			err = callErr
			if err == nil && berr != nil { // the breaker itself failed the call (timeout)
				err = berr
			}
		case errors.Is(berr, ErrBreakerOpen):
			err = fmt.Errorf("%w: %s", berr, key)
		case berr != nil:
			err = fmt.Errorf("%w: %s: %w", ErrBreakerOpen, key, berr)
		}
	}
	if x.option.Sticky {
		if err == nil {
			x.sticky.Store(&key)
		} else if p := x.sticky.Load(); p != nil && *p == key && countsAsFailure(err) {
			empty := ""
			x.sticky.CompareAndSwap(p, &empty)
		}
	}
	return err
}

// retryable reports whether a failed attempt may be repeated: not when the
// caller's ctx is done, the server answered with a service error, or the
// XClient is closed.
func retryable(ctx context.Context, err error) bool {
	switch {
	case ctx.Err() != nil, IsServiceError(err), errors.Is(err, ErrXClientShutdown):
		return false
	}
	return true
}

// finalErr returns ctx's error when ctx ended the call, else err.
func finalErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// pause waits Option.RetryInterval or until ctx is done.
func (x *xClient) pause(ctx context.Context) error {
	d := x.option.RetryInterval
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (x *xClient) retries() int { return max(x.option.Retries, 0) }

// invoke runs a call under the fail mode. clone returns the attempt of
// one try together with a function that commits its result (Failbackup
// runs two attempts at once, each with its own reply value).
func (x *xClient) invoke(ctx context.Context, serviceMethod string, args interface{}, fn attemptFunc, clone func() (attemptFunc, func())) error {
	switch x.failMode {
	case Failtry:
		return x.failtry(ctx, serviceMethod, args, fn)
	case Failfast:
		key, err := x.pick(ctx, serviceMethod, args, nil)
		if err != nil {
			return err
		}
		return finalErr(ctx, x.attempt(ctx, key, serviceMethod, fn))
	case Failbackup:
		return x.failbackup(ctx, serviceMethod, args, clone)
	}
	return x.failover(ctx, serviceMethod, args, fn)
}

// failover tries another server after each retryable failure, at most
// Retries+1 attempts; when every server was tried it starts over.
func (x *xClient) failover(ctx context.Context, serviceMethod string, args interface{}, fn attemptFunc) error {
	tried := map[string]bool{}
	var last error
	for i := 0; i <= x.retries(); i++ {
		if i > 0 {
			if err := x.pause(ctx); err != nil {
				return err
			}
		}
		key, err := x.pick(ctx, serviceMethod, args, tried)
		if errors.Is(err, errAllTried) {
			clear(tried)
			key, err = x.pick(ctx, serviceMethod, args, tried)
		}
		if err != nil {
			if last != nil {
				return fmt.Errorf("%w (after: %w)", err, last)
			}
			return err
		}
		last = x.attempt(ctx, key, serviceMethod, fn)
		if last == nil || !retryable(ctx, last) {
			return finalErr(ctx, last)
		}
		tried[key] = true
	}
	return last
}

// failtry repeats the call on the server chosen first, at most Retries+1
// attempts.
func (x *xClient) failtry(ctx context.Context, serviceMethod string, args interface{}, fn attemptFunc) error {
	key, err := x.pick(ctx, serviceMethod, args, nil)
	if err != nil {
		return err
	}
	var last error
	for i := 0; i <= x.retries(); i++ {
		if i > 0 {
			if err := x.pause(ctx); err != nil {
				return err
			}
		}
		last = x.attempt(ctx, key, serviceMethod, fn)
		if last == nil || !retryable(ctx, last) {
			return finalErr(ctx, last)
		}
	}
	return last
}

type backupResult struct {
	err    error
	commit func()
}

// failbackup sends the call to one server and, when it has not succeeded
// within Option.BackupLatency (or failed with a retryable error before),
// to a second one. The first success wins and the other is cancelled.
func (x *xClient) failbackup(ctx context.Context, serviceMethod string, args interface{}, clone func() (attemptFunc, func())) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	key1, err := x.pick(ctx, serviceMethod, args, nil)
	if err != nil {
		return err
	}
	results := make(chan backupResult, 2)
	launch := func(key string) {
		fn, commit := clone()
		go func() { results <- backupResult{x.attempt(ctx, key, serviceMethod, fn), commit} }()
	}
	launch(key1)
	pending, backupSent := 1, false
	sendBackup := func() {
		backupSent = true
		key2, err := x.pick(ctx, serviceMethod, args, map[string]bool{key1: true})
		if err != nil {
			key2 = key1 // a single server: ask it twice
		}
		launch(key2)
		pending++
	}
	timer := time.NewTimer(max(x.option.BackupLatency, 0))
	defer timer.Stop()
	var last error
	for {
		select {
		case r := <-results:
			pending--
			if r.err == nil {
				r.commit()
				return nil
			}
			last = r.err
			if !retryable(ctx, r.err) {
				return finalErr(ctx, r.err)
			}
			if !backupSent {
				sendBackup()
			} else if pending == 0 {
				return last
			}
		case <-timer.C:
			if !backupSent {
				sendBackup()
			}
		case <-ctx.Done():
			return finalErr(ctx, last)
		}
	}
}
