package server

import (
	"context"
	"sync/atomic"
	"time"
)

// A request's deadline (sent by the client in its metadata) is kept as a
// time, not as a context.WithDeadline made for every request: that is a
// timer armed and stopped, and three allocations, per request, while most
// handlers never wait on their ctx. reqCtx answers Deadline from the time
// and makes the timer the first time Done or Err needs it (a handler that
// selects on ctx.Done(), calls another server with ctx, or derives a
// context from it); from then on the derived context answers. Contexts
// derived from the request's follow it through AfterFunc (no goroutine
// each), and context.Cause falls back to Err. When the request ends its
// ctx is cancelled as before, timer or not.

// lazyDeadline is the deadline part of a reqCtx's reqMore (with its
// ended). at is set before the request's ctx is shared and not changed
// after; timed is set once, by compare-and-swap.
type lazyDeadline struct {
	at    time.Time                    // zero: the request has no deadline of its own
	timed atomic.Pointer[timedContext] // WithDeadline(parent, at), once made
}

// timedContext is a request's deadline made a context.
type timedContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// setDeadline gives the request the deadline at; called before the ctx is
// shared.
func (c *reqCtx) setDeadline(at time.Time) { c.extra().dl.at = at }

// own returns the reqMore of a request with a deadline of its own, or nil.
func (c *reqCtx) own() *reqMore {
	if m := c.more.Load(); m != nil && !m.dl.at.IsZero() {
		return m
	}
	return nil
}

// Deadline returns the request's deadline, or its parent's when that is
// earlier or the request has none.
func (c *reqCtx) Deadline() (time.Time, bool) {
	pd, ok := c.src.ctx.Deadline()
	m := c.own()
	if m == nil || (ok && pd.Before(m.dl.at)) {
		return pd, ok
	}
	return m.dl.at, true
}

// Done is closed when the deadline passes, the request ends (with a
// deadline) or the parent is done.
func (c *reqCtx) Done() <-chan struct{} {
	m := c.own()
	if m == nil {
		return c.src.ctx.Done()
	}
	return c.timedCtx(m).Done()
}

// Err is context.DeadlineExceeded once the deadline has passed; before,
// the parent's error (context.Canceled once a request with a deadline has
// ended). A non-nil Err always comes with a closed Done.
func (c *reqCtx) Err() error {
	m := c.own()
	if m == nil {
		return c.src.ctx.Err()
	}
	if t := m.dl.timed.Load(); t != nil {
		return t.ctx.Err()
	}
	if !c.deadlineSettled(m) {
		return nil
	}
	return c.timedCtx(m).Err()
}

// deadlineSettled reports, before the timer exists, whether the ctx
// would be done by now: the deadline passed, the request ended or the
// parent is done.
func (c *reqCtx) deadlineSettled(m *reqMore) bool {
	return m.ended.Load() || !time.Now().Before(m.dl.at) || c.src.ctx.Err() != nil
}

// AfterFunc runs f in its own goroutine once the ctx is done and returns
// a function that stops that (see context.AfterFunc). Contexts derived
// from the request's ctx use it instead of a goroutine each.
func (c *reqCtx) AfterFunc(f func()) func() bool {
	m := c.own()
	if m == nil {
		return context.AfterFunc(c.src.ctx, f)
	}
	return context.AfterFunc(c.timedCtx(m), f)
}

// timedCtx returns the deadline's context, making it on first use. Two
// goroutines may make one at once: the one stored first is kept, the
// other cancelled. ended is read after the store and endDeadline reads
// timed after setting ended, so one of them cancels the timer whichever
// runs first (both may: cancelling twice is harmless).
func (c *reqCtx) timedCtx(m *reqMore) context.Context {
	if t := m.dl.timed.Load(); t != nil {
		return t.ctx
	}
	t := new(timedContext)
	t.ctx, t.cancel = context.WithDeadline(c.src.ctx, m.dl.at)
	if !m.dl.timed.CompareAndSwap(nil, t) {
		t.cancel()
		return m.dl.timed.Load().ctx
	}
	if m.ended.Load() { // endDeadline ran before: see there
		t.cancel()
	}
	return t.ctx
}

// endDeadline cancels a request's ctx when its deadline was its own: the
// request is over, whoever still holds the ctx sees it done. ended is set
// before timed is read, so a timedCtx that makes the timer after this
// cancels it itself.
func (c *reqCtx) endDeadline() {
	m := c.own()
	if m == nil {
		return
	}
	m.ended.Store(true)
	if t := m.dl.timed.Load(); t != nil {
		t.cancel()
	}
}
