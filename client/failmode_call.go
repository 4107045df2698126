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

// attemptCall is what an attempt runs: fn, or when fn is nil the plain
// Call of method with args into reply. XClient.Call passes the plain call
// by value down to the client, so a call allocates no closure.
type attemptCall struct {
	fn          attemptFunc
	method      string
	args, reply interface{}
}

// pick selects a server for a call, skipping servers in exclude, those
// whose breaker is open or that wait out a reconnect backoff, and those
// ejected as outliers. When the selector keeps choosing unusable servers,
// the first usable server in key order is taken, an ejected one only when
// no other is left. It fails with ErrXClientNoServer when there is no
// server, with ErrBreakerOpen or ErrServerUnavailable when none is usable,
// and with errAllTried when the usable ones are all excluded.
func (x *xClient) pick(ctx context.Context, serviceMethod string, args interface{}, exclude map[string]bool) (string, error) {
	k, _, err := x.pickEntry(ctx, serviceMethod, args, exclude)
	return k, err
}

// pickEntry is pick that also returns the connection cache's entry of the
// server when the selector's choice was found connected (nil otherwise),
// so that the caller need not look it up a second time.
func (x *xClient) pickEntry(ctx context.Context, serviceMethod string, args interface{}, exclude map[string]bool) (string, *connEntry, error) {
	servers, sel, closed := x.snapshot()
	if closed {
		return "", nil, ErrXClientShutdown
	}
	if sel == nil {
		return "", nil, fmt.Errorf("%w: no selector for select mode %v (call SetSelector)", ErrXClientNoServer, x.selectMode)
	}
	if p := x.sticky.Load(); x.option.Sticky && p != nil && *p != "" && !exclude[*p] && x.cache.usable(*p) == nil {
		if _, ok := servers[*p]; ok {
			return *p, nil, nil
		}
	}
	wrapped := x.selectWrap(sel)
	var blocked error
	excluded := false
	for i := 0; i <= len(servers); i++ {
		var k string
		if wrapped != nil {
			k = wrapped(ctx, x.servicePath, serviceMethod, args)
		} else {
			k = sel.Select(ctx, x.servicePath, serviceMethod, args)
		}
		if k == "" {
			return "", nil, x.errNoServer()
		}
		if exclude[k] {
			excluded = true
			continue
		}
		e, err := x.cache.usableEntry(k)
		if err == nil && !x.outliers.ejected(k) {
			return k, e, nil
		}
		blocked = err
	}
	for _, ejectedToo := range [...]bool{false, true} {
		for _, k := range sortedKeys(servers) {
			if exclude[k] {
				excluded = true
				continue
			}
			if err := x.cache.usable(k); err != nil {
				blocked = err
				continue
			}
			if ejectedToo || !x.outliers.ejected(k) {
				return k, nil, nil
			}
		}
	}
	switch {
	case blocked != nil:
		return "", nil, blocked
	case excluded:
		return "", nil, errAllTried
	}
	return "", nil, x.errNoServer()
}

// countsAsFailure reports whether err should count against a server's
// breaker: service errors (the server answered) and the caller's own
// cancellation do not.
func countsAsFailure(err error) bool {
	return err != nil && !IsServiceError(err) && !errors.Is(err, context.Canceled)
}

// attempt runs fn on the server key through its circuit breaker (invoked
// on every attempt), tells the selector (if it is a CallObserver) and the
// outlier detector how it went, counts it and keeps the sticky server up to
// date. A breaker that refuses the call gives an error wrapping
// ErrBreakerOpen; a failed dial one that ProvablyNotRun recognises.
//
// A caller waiting for its reply has every frame between XClient.Call and
// the client's call on its stack: the garbage collector scans every
// waiting caller's frames on every cycle, and a caller woken after a long
// wait finds each frame it returns through cold in the cache, so the chain
// is kept short (at c=5000 scanning stacks was about 5 % of the client's
// CPU). XClient.Call makes the usual first attempt itself (see
// directClient); attempt makes the others.
func (x *xClient) attempt(ctx context.Context, key, serviceMethod string, fn attemptCall) error {
	a := x.attemptBegun(key)
	var err error
	if b := x.cache.breaker(key); b != nil {
		err = x.throughBreaker(ctx, b, key, serviceMethod, fn)
	} else if cl, cerr := x.connected(ctx, key, serviceMethod); cerr != nil {
		err = cerr
	} else if c := untraced(cl); c != nil && fn.fn == nil {
		// runAttempt's plain call, made here: the caller waits for its
		// reply one frame less deep.
		err = c.call(ctx, x.servicePath, fn.method, fn.args, fn.reply)
	} else {
		err = fn.runOn(ctx, x.servicePath, cl) // no closure: nothing allocated per call
	}
	x.attemptDone(ctx, key, a, err)
	return err
}

// attemptStart is what an attempt's end needs of its beginning.
type attemptStart struct {
	obs   CallObserver // the selector, when it observes calls
	timed bool         // the attempt is timed (someone reads the time)
	start time.Time
}

// attemptBegun tells the selector (if it is a CallObserver) that an
// attempt on key begins and starts its clock when someone reads it.
func (x *xClient) attemptBegun(key string) attemptStart {
	_, sel, _ := x.snapshot()
	obs, _ := sel.(CallObserver)
	if obs != nil {
		obs.Begin(key)
	}
	// Timed only for those who read the time (two clock reads per call).
	a := attemptStart{obs: obs, timed: obs != nil || x.outliers.active()}
	if a.timed {
		a.start = time.Now()
	}
	return a
}

// attemptDone records the end of an attempt on key that gave err: the
// sticky server, the selector's and the outlier detector's view, the count.
func (x *xClient) attemptDone(ctx context.Context, key string, a attemptStart, err error) {
	if x.option.Sticky {
		x.keepSticky(key, err)
	}
	var rtt time.Duration
	if a.timed {
		rtt = time.Since(a.start)
	}
	if a.obs != nil {
		a.obs.End(key, rtt, err)
	}
	x.stats.attempts.Add(1)
	x.observe(ctx, key, rtt, err)
}

// directClient picks the server of a call's first attempt and returns it
// with its connected Client when XClient.Call may call that Client itself:
// no breaker, a Client of this package without tracing, already connected.
// Otherwise c is nil and key is the server picked ("" when picking failed:
// retryLoop picks again and reports why).
func (x *xClient) directClient(ctx context.Context, serviceMethod string, args interface{}) (key string, c *Client) {
	key, e, err := x.pickEntry(ctx, serviceMethod, args, nil)
	if err != nil {
		return "", nil
	}
	if x.cache.genBreaker != nil {
		return key, nil
	}
	if e == nil {
		return key, untraced(x.cache.fastGet(key))
	}
	return key, untraced(fastClientOf(e))
}

// untraced returns cl when it is this package's Client without trace
// logging, whose call an XClient may make directly (nil otherwise).
func untraced(cl RPCClient) *Client {
	if c, ok := cl.(*Client); ok && !c.trace {
		return c
	}
	return nil
}

// keepSticky makes key the sticky server after a success and forgets it
// after a failure that counts against it.
func (x *xClient) keepSticky(key string, err error) {
	if err == nil {
		k := key // a copy: taking key's address would move it to the heap on every call
		x.sticky.Store(&k)
	} else if p := x.sticky.Load(); p != nil && *p == key && countsAsFailure(err) {
		empty := ""
		x.sticky.CompareAndSwap(p, &empty)
	}
}

// runAttempt gets key's client (dialing if needed) and runs fn on it.
func (x *xClient) runAttempt(ctx context.Context, key, serviceMethod string, fn *attemptCall) error {
	cl, err := x.connected(ctx, key, serviceMethod)
	if err != nil {
		return err
	}
	return fn.runOn(ctx, x.servicePath, cl)
}

// connected returns key's client, dialing it if needed. A failure is
// marked as not run (nothing was sent), unless the XClient is closed.
func (x *xClient) connected(ctx context.Context, key, serviceMethod string) (RPCClient, error) {
	cl, err := x.cache.get(ctx, key, x.servicePath, serviceMethod)
	if err != nil {
		if errors.Is(err, ErrXClientShutdown) {
			return nil, err
		}
		return nil, &notRunError{err} // no connection: nothing was sent
	}
	return cl, nil
}

// runOn runs the attempt on cl: fn, or the plain call (on this package's
// Client without tracing straight to its call, one frame less on every
// waiting caller's stack).
func (fn *attemptCall) runOn(ctx context.Context, servicePath string, cl RPCClient) error {
	if fn.fn != nil {
		return fn.fn(ctx, cl)
	}
	if c := untraced(cl); c != nil {
		return c.call(ctx, servicePath, fn.method, fn.args, fn.reply)
	}
	return cl.Call(ctx, servicePath, fn.method, fn.args, fn.reply)
}

// throughBreaker runs the attempt through breaker b: b sees only failures
// that count against a server (countsAsFailure); a refusal by b gives an
// error wrapping ErrBreakerOpen.
func (x *xClient) throughBreaker(ctx context.Context, b Breaker, key, serviceMethod string, fn attemptCall) error {
	ran := false
	var callErr error
	berr := b.Call(func() error {
		ran = true
		callErr = x.runAttempt(ctx, key, serviceMethod, &fn)
		if countsAsFailure(callErr) {
			return callErr
		}
		return nil
	}, 0)
	switch {
	case ran:
		if callErr == nil && berr != nil { // the breaker itself failed the call (timeout)
			return berr
		}
		return callErr
	case errors.Is(berr, ErrBreakerOpen):
		return fmt.Errorf("%w: %s", berr, key)
	case berr != nil:
		return fmt.Errorf("%w: %s: %w", ErrBreakerOpen, key, berr)
	}
	return nil
}

// selectWrap returns sel's Select wrapped by the WrapSelect plugins, or
// nil when there are none (the usual case): pick then calls sel.Select
// directly, since making the method value would allocate on every call.
func (x *xClient) selectWrap(sel Selector) SelectFunc {
	plugins := x.GetPlugins()
	if h := hooksOf(plugins); h != nil && len(h.wrapSelect) == 0 {
		return nil
	}
	return plugins.DoWrapSelect(sel.Select)
}
