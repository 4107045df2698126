package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
)

// notRunError marks the error of an attempt that provably did not run: no
// connection could be had, or the request was never written.
type notRunError struct{ err error }

func (e *notRunError) Error() string { return e.err.Error() }
func (e *notRunError) Unwrap() error { return e.err }

// ProvablyNotRun reports whether err, the error of one attempt, proves
// that no handler ran the call, so that sending it again (to another
// server) cannot run it twice: the dial failed, the request was never
// written, the server's circuit breaker or reconnect backoff refused it,
// or the server refused it before running it (its drain notice, or an
// error with code share.CodeOverloaded). Errors of a connection lost after
// the write, timeouts and the service's own errors may have run.
func ProvablyNotRun(err error) bool {
	var nr *notRunError
	switch {
	case err == nil:
		return false
	case errors.As(err, &nr), errors.Is(err, ErrDraining), errors.Is(err, ErrBreakerOpen), errors.Is(err, ErrServerUnavailable):
		return true
	}
	var c share.Coder
	return errors.As(err, &c) && share.Retryable(c.Code())
}

// attemptClass is what a finished attempt says about its call.
type attemptClass uint8

const (
	classDone       attemptClass = iota // success, or an error no retry can fix
	classNotRun                         // failed, provably without running
	classMayHaveRun                     // failed, perhaps after running
)

// classify sorts out the result of an attempt of a call.
func classify(ctx context.Context, err error) attemptClass {
	switch {
	case err == nil, ctx.Err() != nil, errors.Is(err, ErrXClientShutdown), errors.Is(err, ErrXClientNoServer):
		return classDone
	case ProvablyNotRun(err):
		return classNotRun
	case IsServiceError(err):
		return classDone
	}
	return classMayHaveRun
}

// finalErr returns ctx's error when ctx ended the call, else err.
func finalErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

func (x *xClient) retries() int { return max(x.option.Retries, 0) }

// idempotent reports whether serviceMethod may be sent again after it may
// have run: not when Option.NonIdempotent or a server's registration
// metadata names it.
func (x *xClient) idempotent(serviceMethod string) bool {
	if p := x.nonIdem.Load(); p != nil && (*p)[serviceMethod] {
		return false
	}
	return true
}

// nonIdempotentSet collects the methods of Option.NonIdempotent and of the
// servers' share.NonIdempotentMetaKey metadata.
func nonIdempotentSet(option []string, metas []map[string]string) map[string]bool {
	set := make(map[string]bool, len(option))
	for _, m := range option {
		set[m] = true
	}
	for _, meta := range metas {
		for _, m := range strings.Split(meta[share.NonIdempotentMetaKey], ",") {
			if m = strings.TrimSpace(m); m != "" {
				set[m] = true
			}
		}
	}
	return set
}

// withdraw takes one extra attempt from the budget, counting a refusal.
func (x *xClient) withdraw() bool {
	if x.budget == nil || x.budget.TryWithdraw() {
		return true
	}
	x.stats.budgetExhausted.Add(1)
	return false
}

// deposit records one call in the budget.
func (x *xClient) deposit() {
	x.stats.calls.Add(1)
	if x.budget != nil {
		x.budget.Deposit()
	}
}

// pause waits before retry n: Option.Backoff(n), else RetryInterval. It
// returns ctx's error when ctx ends first, and errNoTime, without
// waiting, when the pause would end past ctx's deadline.
func (x *xClient) pause(ctx context.Context, n int) error {
	d := x.option.RetryInterval
	if x.option.Backoff != nil {
		d = x.option.Backoff(n)
	}
	if dl, ok := ctx.Deadline(); ok && d > 0 && time.Until(dl) <= d {
		return errNoTime
	}
	return util.Wait(ctx, d)
}

// errNoTime means the pause before a retry would outlast the caller's
// deadline.
var errNoTime = errors.New("client: no time left for a retry")

// invoke runs a call under the fail mode. clone returns the attempt of
// one try together with a function that commits its result (Failbackup
// runs attempts at once, each with its own reply value).
func (x *xClient) invoke(ctx context.Context, serviceMethod string, args interface{}, fn attemptCall, clone func() (attemptFunc, func())) error {
	x.deposit()
	if x.failMode == Failbackup {
		return x.hedge(ctx, serviceMethod, args, clone)
	}
	return x.retryLoop(ctx, serviceMethod, args, fn, "", false, nil)
}

// retryLoop runs Failover, Failtry and Failfast. A failure that provably
// did not run is retried once on another server in every mode
// (transparently; not at all when no other server is left), then counts
// against Retries; a failure that may have
// run is retried, within Retries, by Failover (on another server) and
// Failtry (on the same one), never for a non-idempotent method. Every
// retry draws from the budget and pauses (see pause) first, except the
// transparent one.
//
// key, when not "", is the server of the first attempt; made says the
// caller (XClient.Call) made that attempt already, and first is the error
// it gave.
func (x *xClient) retryLoop(ctx context.Context, serviceMethod string, args interface{}, fn attemptCall, key string, made bool, first error) error {
	last := first
	retries, transparent := x.retries(), 1
	if x.failMode == Failfast {
		retries = 0
	}
	var tried map[string]bool // made on the first retry: a call that succeeds at once allocates nothing here
	elsewhere := false
	for n := 0; ; n++ {
		if !made {
			if key == "" {
				k, ok, err := x.nextKey(ctx, serviceMethod, args, tried, elsewhere, last)
				if !ok {
					return err
				}
				key = k
			}
			last = x.attempt(ctx, key, serviceMethod, fn)
		}
		made = false
		class := classify(ctx, last)
		if class == classDone {
			return finalErr(ctx, last)
		}
		if tried == nil {
			tried = map[string]bool{}
		}
		tried[key] = true
		switch {
		case class == classNotRun && transparent > 0:
			transparent--
			if !x.withdraw() {
				return last
			}
			x.stats.transparent.Add(1)
			key, elsewhere = "", true
			continue
		case class == classMayHaveRun && !x.idempotent(serviceMethod):
			x.stats.nonIdempotent.Add(1)
			return last
		case retries == 0:
			return last
		}
		retries--
		elsewhere = false
		if class == classNotRun || x.failMode != Failtry {
			key = ""
		}
		if !x.withdraw() {
			return last
		}
		if err := x.pause(ctx, n+1); err != nil {
			return finalErr(ctx, last)
		}
		x.stats.retries.Add(1)
	}
}

// nextKey picks the server of retryLoop's next attempt: not one in tried,
// starting over when every usable one was tried, except for a transparent
// retry (elsewhere), which goes to another server or nowhere. When none is
// left, ok is false and err is what the call returns (last, or why
// nothing could be picked).
func (x *xClient) nextKey(ctx context.Context, serviceMethod string, args interface{}, tried map[string]bool, elsewhere bool, last error) (key string, ok bool, err error) {
	pickFn := x.pickAgain
	if elsewhere {
		pickFn = x.pick
	}
	key, err = pickFn(ctx, serviceMethod, args, tried)
	switch {
	case errors.Is(err, errAllTried):
		return "", false, last
	case err != nil && last != nil:
		return "", false, fmt.Errorf("%w (after: %w)", err, last)
	case err != nil:
		return "", false, err
	}
	return key, true, nil
}

// pickAgain picks a server not in tried, starting over (any server) when
// every usable one was tried.
func (x *xClient) pickAgain(ctx context.Context, serviceMethod string, args interface{}, tried map[string]bool) (string, error) {
	key, err := x.pick(ctx, serviceMethod, args, tried)
	if errors.Is(err, errAllTried) {
		clear(tried)
		key, err = x.pick(ctx, serviceMethod, args, tried)
	}
	return key, err
}
