package server

import (
	"context"
	"time"
)

// A request's deadline (sent by the client in its metadata) is kept as a
// time, not as a context.WithDeadline made for every request: that is a
// timer armed and stopped, and three allocations, per request, while most
// handlers never wait on their ctx. reqCtx answers Deadline from the time
// and makes the timer the first time Done or Err needs it (a handler that
// selects on ctx.Done(), calls another server with ctx, or derives a
// context from it); from then on the derived context answers. When the
// request ends its ctx is cancelled as before, timer or not.

// lazyDeadline is the deadline part of a reqCtx. at is set before the
// request's ctx is shared and not changed after; the rest is guarded by
// the reqCtx's mu.
type lazyDeadline struct {
	at     time.Time          // zero: the request has no deadline of its own
	timed  context.Context    // WithDeadline(parent, at), once made
	cancel context.CancelFunc // of timed
	ended  bool               // the request ended: timed is (or is made) cancelled
}

// setDeadline gives the request the deadline at.
func (c *reqCtx) setDeadline(at time.Time) { c.dl.at = at }

// Deadline returns the request's deadline, or its parent's when that is
// earlier or the request has none.
func (c *reqCtx) Deadline() (time.Time, bool) {
	pd, ok := c.Context.Deadline()
	if c.dl.at.IsZero() || (ok && pd.Before(c.dl.at)) {
		return pd, ok
	}
	return c.dl.at, true
}

// Done is closed when the deadline passes, the request ends (with a
// deadline) or the parent is done.
func (c *reqCtx) Done() <-chan struct{} {
	if c.dl.at.IsZero() {
		return c.Context.Done()
	}
	return c.timedCtx().Done()
}

// Err is context.DeadlineExceeded once the deadline has passed; before,
// the parent's error (context.Canceled once a request with a deadline has
// ended). A non-nil Err always comes with a closed Done.
func (c *reqCtx) Err() error {
	if c.dl.at.IsZero() {
		return c.Context.Err()
	}
	c.mu.Lock()
	t, ended := c.dl.timed, c.dl.ended
	c.mu.Unlock()
	if t == nil && !ended && time.Now().Before(c.dl.at) && c.Context.Err() == nil {
		return nil
	}
	return c.timedCtx().Err()
}

// AfterFunc runs f in its own goroutine once the ctx is done and returns
// a function that stops that (see context.AfterFunc). Contexts derived
// from the request's ctx use it instead of a goroutine each.
func (c *reqCtx) AfterFunc(f func()) func() bool {
	if c.dl.at.IsZero() {
		return context.AfterFunc(c.Context, f)
	}
	return context.AfterFunc(c.timedCtx(), f)
}

// timedCtx returns the deadline's context, making it on first use.
func (c *reqCtx) timedCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dl.timed == nil {
		c.dl.timed, c.dl.cancel = context.WithDeadline(c.Context, c.dl.at)
		if c.dl.ended {
			c.dl.cancel()
		}
	}
	return c.dl.timed
}

// endDeadline cancels a request's ctx when its deadline was its own: the
// request is over, whoever still holds the ctx sees it done.
func (c *reqCtx) endDeadline() {
	if c.dl.at.IsZero() {
		return
	}
	c.mu.Lock()
	c.dl.ended = true
	cancel := c.dl.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
