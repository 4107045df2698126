package main

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Latency range the histograms hold: 1 µs to 1 min at 3 significant
// digits (0.1 % error); longer calls count as 1 min.
const (
	histLowest  = int64(time.Microsecond)
	histHighest = int64(time.Minute)
	histDigits  = 3
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// stripe is one of the histograms callers record into; its mutex is held
// only to record or copy, so callers rarely wait.
type stripe struct {
	mu   sync.Mutex
	hist *hdrhistogram.Histogram
	errs map[string]*errCount // by code name, guarded by mu
}

type errCount struct {
	n       int64
	example string
}

// bencher runs the load. Workers own nothing shared but the stripes and
// the atomic counters; the progress printer reads both.
type bencher struct {
	f       *benchFlags
	clients []*client.Client
	req     *protocol.Message
	stripes []*stripe
	calls   atomic.Int64 // measured calls finished
	errors  atomic.Int64 // measured calls failed
	start   atomic.Int64 // UnixNano of the window start, 0 during warm-up
}

func newBencher(f *benchFlags, clients []*client.Client, req *protocol.Message) *bencher {
	n := min(f.conc, 4*runtime.GOMAXPROCS(0))
	b := &bencher{f: f, clients: clients, req: req, stripes: make([]*stripe, n)}
	for i := range b.stripes {
		b.stripes[i] = &stripe{hist: newHist(), errs: map[string]*errCount{}}
	}
	return b
}

// record counts one call that started at t0 (its intended start in the
// open loop), if the window is open.
func (b *bencher) record(s *stripe, t0 time.Time, err error) {
	start := b.start.Load()
	if start == 0 || t0.UnixNano() < start {
		return
	}
	d := time.Since(t0).Nanoseconds()
	s.mu.Lock()
	_ = s.hist.RecordValue(min(max(d, histLowest), histHighest))
	if err != nil {
		code, msg := errorCode(err)
		e := s.errs[code]
		if e == nil {
			e = &errCount{example: msg}
			s.errs[code] = e
		}
		e.n++
	}
	s.mu.Unlock()
	if err != nil {
		b.errors.Add(1)
	}
	b.calls.Add(1)
}

// errorCode names the code of a call error: the server's code for a
// service error, else deadline_exceeded, canceled or unavailable.
func errorCode(err error) (string, string) {
	var se client.ServiceError
	switch {
	case errors.As(err, &se) && se.IsServiceError():
		return share.CodeOf(err).String(), se.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return share.CodeDeadlineExceeded.String(), err.Error()
	case errors.Is(err, context.Canceled):
		return share.CodeCanceled.String(), err.Error()
	}
	return share.CodeUnavailable.String(), err.Error()
}

// snapshot merges the stripes into one histogram and error table.
func (b *bencher) snapshot() (*hdrhistogram.Histogram, map[string]*errCount) {
	h := newHist()
	errs := map[string]*errCount{}
	for _, s := range b.stripes {
		s.mu.Lock()
		h.Merge(s.hist)
		for code, e := range s.errs {
			if t := errs[code]; t != nil {
				t.n += e.n
			} else {
				errs[code] = &errCount{n: e.n, example: e.example}
			}
		}
		s.mu.Unlock()
	}
	return h, errs
}

// run drives the load until -n measured calls or the end of the window and
// returns the result. Calls still in flight at the end get the call
// timeout to finish, then are cancelled.
func (b *bencher) run(ctx context.Context) *benchResult {
	f := b.f
	warmEnd := time.Now().Add(f.warmup)
	stopAt := warmEnd.Add(f.dur)
	// Timers, not a clock read per call, open and close the window. The
	// calls are not children of a context of the run: each has its own
	// deadline (see call), so none outlives the window by more than
	// --timeout, and a shared parent would take a lock per call.
	var over atomic.Bool
	closer := time.AfterFunc(time.Until(stopAt), func() { over.Store(true) })
	defer closer.Stop()
	if f.warmup == 0 {
		b.start.Store(warmEnd.UnixNano())
	} else {
		opener := time.AfterFunc(time.Until(warmEnd), func() { b.start.Store(time.Now().UnixNano()) })
		defer opener.Stop()
	}
	var issued atomic.Int64 // measured calls started
	more := func() bool {
		if over.Load() || ctx.Err() != nil {
			return false
		}
		return f.total == 0 || b.start.Load() == 0 || issued.Add(1) <= f.total
	}
	if f.rate > 0 {
		b.openLoop(ctx, more)
	} else {
		b.closedLoop(ctx, more)
	}
	elapsed := time.Since(time.Unix(0, b.start.Load()))
	h, errs := b.snapshot()
	return &benchResult{f: f, target: b.req.ServicePath + "." + b.req.ServiceMethod, hist: h, errs: errs,
		calls: b.calls.Load(), errors: b.errors.Load(), elapsed: elapsed}
}

// call makes one call on worker w's connection with its own deadline
// (--timeout, sent to the server as rpcx does). The response goes back to
// the pool unread (SendRawMessage: no header map, no payload copy), so the
// tool costs the client about what a program's own calls do.
func (b *bencher) call(ctx context.Context, w int) error {
	ctx, cancel := context.WithTimeout(ctx, b.f.conn.timeout)
	defer cancel()
	res, err := b.clients[w%len(b.clients)].SendRawMessage(ctx, b.req)
	if res != nil {
		protocol.FreeMsg(res)
	}
	return err
}

func (b *bencher) closedLoop(ctx context.Context, more func() bool) {
	var wg sync.WaitGroup
	for w := range b.f.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := b.stripes[w%len(b.stripes)]
			for more() {
				t0 := time.Now()
				b.record(s, t0, b.call(ctx, w))
			}
		}()
	}
	wg.Wait()
}

// openLoop starts calls at f.rate per second on f.conc workers; a call
// whose worker is busy waits, and its latency counts from its intended
// start.
func (b *bencher) openLoop(ctx context.Context, more func() bool) {
	starts := make(chan time.Time, b.f.conc)
	var wg sync.WaitGroup
	for w := range b.f.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := b.stripes[w%len(b.stripes)]
			for t0 := range starts {
				b.record(s, t0, b.call(ctx, w))
			}
		}()
	}
	defer func() {
		close(starts)
		wg.Wait()
	}()
	interval := time.Duration(float64(time.Second) / b.f.rate)
	begin := time.Now()
	for i := int64(0); ; i++ {
		due := begin.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait) // pacing the schedule, not waiting for a server
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		if !more() {
			return
		}
		select {
		case starts <- due:
		case <-ctx.Done():
			return
		}
	}
}
