package client

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/internal/cacheline"
)

// Defaults of the retry budget every XClient gets when Option.RetryBudget
// is nil (Finagle's defaults): retries and hedges may add 20 % to the calls
// plus 10 per second, counted over the last 10 seconds.
const (
	DefaultRetryBudgetRatio  = 0.2
	DefaultRetryBudgetFloor  = 10
	DefaultRetryBudgetWindow = 10 * time.Second
)

// budgetSlots is the number of time slots a budget's window is cut into.
const budgetSlots = 10

// RetryBudget bounds the extra attempts (retries, transparent retries and
// hedges) of the XClients that share it: over the last window, extra
// attempts may not exceed ratio times the calls plus minPerSecond per
// second of the window. Every call deposits one, every extra attempt
// withdraws one; an XClient whose withdrawal is refused ends the call with
// the last attempt's error and counts it in Stats().BudgetExhausted. A
// RetryBudget is safe for concurrent use and may be shared by many
// XClients (set the same pointer in their Option.RetryBudget).
type RetryBudget struct {
	ratio   float64
	floor   float64 // extra attempts always allowed per window
	slotLen time.Duration
	start   time.Time // slot 0 begins here; slots are counted on the monotonic clock

	// The fields above are read by every call, the slots written by every
	// call: a line of their own for the first (see Client's padding).
	_ cacheline.Pad

	// Deposit, on every call, takes no lock: it adds to the newest slot
	// with an atomic add and takes mu only when the window has to move on
	// (at most once per slot length). Moving the window and withdrawing are
	// under mu.
	mu    sync.Mutex
	slots [budgetSlots]budgetSlot
	head  atomic.Int64 // index (in slotLen units since start) of the newest slot; written under mu

	refused atomic.Uint64
}

// budgetSlot counts the calls and extra attempts of one slot.
type budgetSlot struct{ calls, extra atomic.Uint64 }

// NewRetryBudget returns a budget allowing extra attempts of ratio times
// the calls plus minPerSecond per second, over window (<= 0: 10s). A
// negative ratio or minPerSecond counts as 0; NewRetryBudget(0, 0, w)
// allows no extra attempt at all.
func NewRetryBudget(ratio float64, minPerSecond int, window time.Duration) *RetryBudget {
	if window <= 0 {
		window = DefaultRetryBudgetWindow
	}
	return &RetryBudget{
		ratio:   max(ratio, 0),
		floor:   float64(max(minPerSecond, 0)) * window.Seconds(),
		slotLen: max(window/budgetSlots, time.Millisecond),
		start:   time.Now(),
	}
}

// newDefaultRetryBudget returns a budget with the default settings.
func newDefaultRetryBudget() *RetryBudget {
	return NewRetryBudget(DefaultRetryBudgetRatio, DefaultRetryBudgetFloor, DefaultRetryBudgetWindow)
}

// index returns the slot index of now. One monotonic clock read (half
// the cost of time.Now, which also reads the wall clock).
func (b *RetryBudget) index() int64 { return int64(time.Since(b.start) / b.slotLen) }

// advanceLocked moves the window to slot idx, clearing the slots that fell
// out, and returns the slot of idx (a later one when idx fell out itself).
// The caller holds mu.
func (b *RetryBudget) advanceLocked(idx int64) *budgetSlot {
	head := b.head.Load()
	if gap := idx - head; gap > 0 {
		for i := int64(1); i <= min(gap, budgetSlots); i++ {
			s := &b.slots[(head+i)%budgetSlots]
			s.calls.Store(0)
			s.extra.Store(0)
		}
		b.head.Store(idx) // after the clearing: a Deposit that sees idx adds to a cleared slot
		head = idx
	}
	if idx < head-budgetSlots+1 { // older than the window: count it in the newest slot
		idx = head
	}
	return &b.slots[idx%budgetSlots]
}

// depositClockEvery is how often Deposit reads the clock: on every
// depositClockEvery-th call counted in a slot.
const depositClockEvery = 16

// Deposit records one call. It adds to the newest slot without a lock and
// reads the clock only on every depositClockEvery-th call of a slot (a
// clock read costs more than the rest of Deposit), moving the window on
// when it has to. So up to depositClockEvery-1 calls made after a pause are
// counted in the slot before the pause: they leave the window early, never
// late, and the budget errs on the side of fewer retries. TryWithdraw
// always reads the clock.
func (b *RetryBudget) Deposit() {
	head := b.head.Load()
	if b.slots[head%budgetSlots].calls.Add(1)%depositClockEvery != 0 {
		return
	}
	if idx := b.index(); idx != head {
		b.mu.Lock()
		b.advanceLocked(idx)
		b.mu.Unlock()
	}
}

// TryWithdraw takes one extra attempt from the budget; false means the
// budget is spent (the refusal is counted).
func (b *RetryBudget) TryWithdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.advanceLocked(b.index())
	var calls, extra float64
	for i := range b.slots {
		calls += float64(b.slots[i].calls.Load())
		extra += float64(b.slots[i].extra.Load())
	}
	if extra+1 > b.ratio*calls+b.floor {
		b.refused.Add(1)
		return false
	}
	cur.extra.Add(1)
	return true
}

// Refused returns how many withdrawals the budget refused.
func (b *RetryBudget) Refused() uint64 { return b.refused.Load() }

// ExponentialBackoff returns an Option.Backoff with "full jitter": the
// pause before retry n is uniform in [0, min(max, base*2^(n-1))). It is
// safe for concurrent use.
func ExponentialBackoff(base, maxPause time.Duration) func(retry int) time.Duration {
	return func(retry int) time.Duration {
		if base <= 0 || maxPause <= 0 {
			return 0
		}
		d := maxPause
		if retry < 1 {
			retry = 1
		}
		if retry < 32 && base<<(retry-1) > 0 && base<<(retry-1) < maxPause {
			d = base << (retry - 1)
		}
		return rand.N(d)
	}
}
