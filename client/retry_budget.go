package client

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
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
	now     func() time.Time

	mu    sync.Mutex
	slots [budgetSlots]budgetSlot
	head  int64 // index (in slotLen units since the epoch) of the newest slot

	refused atomic.Uint64
}

type budgetSlot struct{ calls, extra float64 }

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
		now:     time.Now,
	}
}

// newDefaultRetryBudget returns a budget with the default settings.
func newDefaultRetryBudget() *RetryBudget {
	return NewRetryBudget(DefaultRetryBudgetRatio, DefaultRetryBudgetFloor, DefaultRetryBudgetWindow)
}

// advanceLocked moves the window to now, clearing slots that fell out.
func (b *RetryBudget) advanceLocked() *budgetSlot {
	idx := b.now().UnixNano() / int64(b.slotLen)
	if gap := idx - b.head; gap > 0 {
		for i := int64(1); i <= min(gap, budgetSlots); i++ {
			b.slots[(b.head+i)%budgetSlots] = budgetSlot{}
		}
		b.head = idx
	}
	return &b.slots[b.head%budgetSlots]
}

// Deposit records one call.
func (b *RetryBudget) Deposit() {
	b.mu.Lock()
	b.advanceLocked().calls++
	b.mu.Unlock()
}

// TryWithdraw takes one extra attempt from the budget; false means the
// budget is spent (the refusal is counted).
func (b *RetryBudget) TryWithdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.advanceLocked()
	var calls, extra float64
	for _, s := range b.slots {
		calls += s.calls
		extra += s.extra
	}
	if extra+1 > b.ratio*calls+b.floor {
		b.refused.Add(1)
		return false
	}
	cur.extra++
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
