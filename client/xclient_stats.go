package client

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/share"
)

// XClientStats counts the decisions of an XClient since it was made.
type XClientStats struct {
	// Calls counts calls (Call, Go, SendRaw, Fork).
	Calls uint64
	// Attempts counts requests sent to a server (or tried: a failed dial
	// counts), retries and hedges included.
	Attempts uint64
	// Retries counts extra attempts after a failure, transparent ones
	// excluded.
	Retries uint64
	// TransparentRetries counts the one extra attempt a call gets, in every
	// fail mode, after a failure that provably did not run.
	TransparentRetries uint64
	// Hedges counts extra attempts Failbackup sent while others were still
	// running, and the extra servers Fork asked.
	Hedges uint64
	// BudgetExhausted counts extra attempts the retry budget refused.
	BudgetExhausted uint64
	// NonIdempotentStops counts calls that were not retried because their
	// method is non-idempotent and the failed attempt may have run.
	NonIdempotentStops uint64
	// Ejections counts servers taken out of selection as outliers.
	Ejections uint64
	// Overloaded counts attempts refused by an overloaded server.
	Overloaded uint64
	// NotServing counts servers taken out of selection because they
	// reported NOT_SERVING (Option.HealthCheck).
	NotServing uint64
	// BreakerOpens counts the times a server's circuit breaker opened
	// (tripped, or re-opened after its half-open trial).
	BreakerOpens uint64
}

// xStats holds XClientStats' counters.
type xStats struct {
	calls, attempts, retries, transparent, hedges, budgetExhausted, nonIdempotent, ejections, overloaded, notServing, breakerOpens atomic.Uint64
}

// Stats returns a snapshot of the XClient's counters.
func (x *xClient) Stats() XClientStats {
	s := &x.stats
	return XClientStats{
		Calls: s.calls.Load(), Attempts: s.attempts.Load(), Retries: s.retries.Load(),
		TransparentRetries: s.transparent.Load(), Hedges: s.hedges.Load(),
		BudgetExhausted: s.budgetExhausted.Load(), NonIdempotentStops: s.nonIdempotent.Load(),
		Ejections: s.ejections.Load(), Overloaded: s.overloaded.Load(), NotServing: s.notServing.Load(),
		BreakerOpens: s.breakerOpens.Load(),
	}
}

// observe tells the outlier detector how an attempt on key went. The
// caller's own cancellation (a hedge that lost, a caller that gave up)
// says nothing about the server and is not reported.
func (x *xClient) observe(ctx context.Context, key string, rtt time.Duration, err error) {
	oc := outcomeSuccess
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, ErrXClientShutdown):
		return
	case retryableCode(err):
		x.stats.overloaded.Add(1)
		oc = outcomeOverloaded
	case errors.Is(err, ErrBreakerOpen), errors.Is(err, ErrServerUnavailable):
		return // refused locally: the breaker or backoff already keeps it away
	case !IsServiceError(err):
		oc = outcomeFailure
	}
	if x.outliers.report(key, rtt, oc) {
		x.stats.ejections.Add(1)
	}
}

// retryableCode reports whether err carries a retryable share code (e.g.
// overloaded). A function of its own so that the Coder target of errors.As
// is allocated only for failed calls.
func retryableCode(err error) bool {
	var c share.Coder
	return errors.As(err, &c) && share.Retryable(c.Code())
}
