package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	rclient "github.com/smallnest/rpcx/client"
)

// capacityServer is scenario 2's server: 4 calls at once, 4 ms each, so
// at most 1,000 calls/s. Its slots must be the bottleneck, not the CPU:
// the client, its 3x open loop and the server share the process, and at
// 8 x 2 ms (4,000/s) the shared 2 cores ran out first (measured peak
// 2,100-2,800/s at load average 20-30), so the requests shed at 3x took
// CPU from the admitted ones and the row measured the machine (-slots
// and -hold choose another server).
var capacityServer = behaviour{capacity: 4, hold: 4 * time.Millisecond}

// overload is scenario 2: one server offered 3x its measured peak, open
// loop, with and without the limiter, and rpcx. Each row is compared with
// the server's peak and unloaded p99 measured in the same seconds on a
// second, fresh server without a limiter (the baseline). The limiter rows,
// which hold no backlog, take turns with the baseline as scenario 1 does
// (overloadTurns turns of d/overloadTurns, each with the baseline's peak
// and unloaded parts of half that, the order swapped every turn, each
// turn offering 3x the round's peak so far); the limiter row runs rounds
// times. The rows without a limiter keep their backlog for seconds, so
// they run d at once and take the baseline measured just before and just
// after them (averaged).
func overload(d time.Duration, rounds int) (*report, error) {
	r := &report{title: fmt.Sprintf("2. Overload: one server (%d slots x %s), open loop at 3x its peak, %s per row, 1 s call timeout; limiter rows take %d turns with the baseline (peak, unloaded p99), the others have it measured before and after", capacityServer.capacity, capacityServer.hold, d, overloadTurns),
		head: "| round | server | offered/s (x peak) | peak/s | goodput/s | % of peak | p50 ms | p99 ms | unloaded p99 ms | p99 / unloaded p99 | failed | shed by server | goroutines back to idle |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"}
	limiter := func() []server.OptionFn {
		return []server.OptionFn{server.WithConcurrencyLimiter(server.NewGradientLimiter(server.GradientConfig{}))}
	}
	type rowCfg struct {
		round, name string
		rpcx, turns bool
		opts        []server.OptionFn
	}
	var rows []rowCfg
	for i := range rounds {
		rows = append(rows, rowCfg{fmt.Sprint(i + 1), limiterRow, false, true, limiter()})
	}
	rows = append(rows,
		rowCfg{"-", "courier + GradientLimiter + 5 ms queue", false, true, append(limiter(), server.WithQueueTimeout(5*time.Millisecond))},
		rowCfg{"-", "courier, no limiter", false, false, nil},
		rowCfg{"-", "rpcx", true, false, nil})
	passed := 0
	var before *baseline // the last sustained row's baseline after it
	for _, c := range rows {
		var res *overloadResult
		var err error
		if c.turns {
			res, err = overloadTurnsRow(c.opts, d)
		} else {
			if before == nil {
				if before, err = measureBaseline(d / 3); err != nil {
					return nil, err
				}
			}
			res, err = overloadSustainedRow(c.rpcx, c.opts, d, before)
			before = res.after
		}
		if err != nil {
			return nil, err
		}
		o, peak, up99 := res.o, res.peak(), res.unloadedP99()
		good := o.goodput()
		ratio := float64(o.p(0.99)) / float64(up99)
		r.row("| %s | %s | %.0f (%.1f) | %s | %.0f | %.0f | %s | %s | %s | %.1f | %d | %s | %s (%d left) |", c.round, c.name, o.rate(), o.rate()/peak,
			res.peakText(), good, 100*good/peak, ms(o.p(0.5)), ms(o.p(0.99)), res.unloadedText(),
			ratio, o.errors.Load()+o.dropped.Load(), res.shed, res.settle.Round(10*time.Millisecond), res.left)
		if c.name == limiterRow {
			okGood, okP99 := good >= 0.9*peak, ratio <= 5
			r.check(okGood, "round %s: limiter goodput %.0f/s = %.0f %% of the peak %.0f/s >= 90 %% (offered %.1fx)", c.round, good, 100*good/peak, peak, o.rate()/peak)
			r.check(okP99, "round %s: limiter p99 of admitted calls %s ms = %.1f x the unloaded p99 %s ms <= 5", c.round, ms(o.p(0.99)), ratio, ms(up99))
			if okGood && okP99 {
				passed++
			}
		}
	}
	r.check(passed == rounds, "the limiter held both targets in %d of %d rounds", passed, rounds)
	return r, nil
}

// limiterRow is the name of scenario 2's row with the targets.
const limiterRow = "courier + GradientLimiter"

// overloadTurns is how many turns a limiter row of scenario 2 takes with
// its baseline.
const overloadTurns = 6

// baseline is scenario 2's server measured without overload: its peak
// (a closed loop of 32 callers) and its latencies in an open loop at 30 %
// of that peak (unloaded).
type baseline struct {
	peak, unloaded outcome
}

// part adds to b a peak run of d and then an unloaded run of d on k.
func (b *baseline) part(k *caller, d time.Duration) {
	b.peak.closedLoop(32, d, 5*time.Second, k.call)
	b.unloaded.openLoop(b.peak.goodput()*0.3, d, time.Second, 1<<20, k.call)
}

// measureBaseline measures a fresh courier server without a limiter, d
// for the peak and d for the unloaded latencies.
func measureBaseline(d time.Duration) (*baseline, error) {
	cl, err := startN(false, 1, capacityServer, false)
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	k, err := courierConn(cl[0].addr)
	if err != nil {
		return nil, err
	}
	defer k.close()
	b := &baseline{}
	b.part(k, d)
	return b, nil
}

// overloadResult is one row of scenario 2: the overload's outcome and
// its baseline (one, interleaved; or the ones before and after), the
// goroutines' settling and the calls the server shed ("-" for rpcx).
type overloadResult struct {
	o             *outcome
	base          *baseline // interleaved
	before, after *baseline // sustained rows
	settle        time.Duration
	left          int
	shed          string
}

// peak is the row's paired peak: the interleaved one, or the mean of
// before and after.
func (r *overloadResult) peak() float64 {
	if r.base != nil {
		return r.base.peak.goodput()
	}
	return (r.before.peak.goodput() + r.after.peak.goodput()) / 2
}

func (r *overloadResult) peakText() string {
	if r.base != nil {
		return fmt.Sprintf("%.0f", r.peak())
	}
	return fmt.Sprintf("%.0f (%.0f, %.0f)", r.peak(), r.before.peak.goodput(), r.after.peak.goodput())
}

// unloadedP99 is the p99 of the row's paired unloaded latencies (before
// and after merged).
func (r *overloadResult) unloadedP99() time.Duration {
	if r.base != nil {
		return r.base.unloaded.p(0.99)
	}
	var h outcome
	h.lat.Merge(&r.before.unloaded.lat)
	h.lat.Merge(&r.after.unloaded.lat)
	return h.p(0.99)
}

func (r *overloadResult) unloadedText() string {
	if r.base != nil {
		return ms(r.unloadedP99())
	}
	return fmt.Sprintf("%s (%s, %s)", ms(r.unloadedP99()), ms(r.before.unloaded.p(0.99)), ms(r.after.unloaded.p(0.99)))
}

// rowServer starts scenario 2's server (rpcx, or courier with opts) and
// a client of it.
func rowServer(rpcx bool, opts []server.OptionFn) (cluster, *caller, error) {
	cl, err := startN(rpcx, 1, capacityServer, false, opts...)
	if err != nil {
		return nil, nil, err
	}
	var k *caller
	if rpcx {
		k, err = rpcxConn(cl[0].addr)
	} else {
		k, err = courierConn(cl[0].addr)
	}
	if err != nil {
		cl.stop()
		return nil, nil, err
	}
	return cl, k, nil
}

// finish waits for the goroutines to settle (counted from base), reads
// the server's shed count and stops the server and its client.
func (r *overloadResult) finish(cl cluster, k *caller, base int) {
	var n int
	r.settle, n = goroutinesSettle(base + 20)
	r.left = n - base
	r.shed = "-"
	if cl[0].courier != nil {
		r.shed = fmt.Sprint(cl[0].courier.Stats().Shed)
	}
	k.close()
	cl.stop()
}

// overloadTurnsRow runs a courier server with opts and a baseline server
// side by side in overloadTurns turns: the baseline's peak and unloaded
// parts (d/overloadTurns/2 each) and the overload (d/overloadTurns at 3x
// the peak so far), the order swapped every turn.
func overloadTurnsRow(opts []server.OptionFn, d time.Duration) (*overloadResult, error) {
	base := runtime.NumGoroutine()
	bcl, bk, err := rowServer(false, nil)
	if err != nil {
		return nil, err
	}
	defer func() { bk.close(); bcl.stop() }()
	cl, k, err := rowServer(false, opts)
	if err != nil {
		return nil, err
	}
	res := &overloadResult{o: &outcome{}, base: &baseline{}}
	turn := d / overloadTurns
	overloadTurn := func() {
		res.o.openLoop(3*res.base.peak.goodput(), turn, time.Second, 50000, k.call)
	}
	for i := range overloadTurns {
		if i%2 == 1 {
			overloadTurn()
		}
		res.base.part(bk, turn/2)
		if i%2 == 0 {
			overloadTurn()
		}
	}
	res.finish(cl, k, base)
	return res, nil
}

// overloadSustainedRow offers 3x before's peak for d at once to a fresh
// server (rpcx, or courier with opts), then measures the baseline after.
func overloadSustainedRow(rpcx bool, opts []server.OptionFn, d time.Duration, before *baseline) (*overloadResult, error) {
	base := runtime.NumGoroutine()
	cl, k, err := rowServer(rpcx, opts)
	if err != nil {
		return nil, err
	}
	res := &overloadResult{o: openLoop(3*before.peak.goodput(), d, time.Second, 50000, k.call), before: before}
	res.finish(cl, k, base)
	if res.after, err = measureBaseline(d / 3); err != nil {
		return nil, err
	}
	return res, nil
}

// retryStorm is scenario 3: one of 3 servers resets every connection;
// Failover with Retries=3.
func retryStorm(d time.Duration) (*report, error) {
	r := &report{title: "3. Retry storm: 3 servers, one resets every connection, Failover, Retries=3, c=20 closed loop, " + d.String(),
		head: "| client | calls | attempts seen by servers | attempts / call | failed calls | retries | transparent | budget refusals | ejections |\n|---|---|---|---|---|---|---|---|---|"}
	noEject := client.DefaultOption
	noEject.Outlier.Disabled = true
	nothing := noEject
	nothing.DisableRetryBudget = true
	for _, c := range []struct {
		name string
		rpcx bool
		opt  client.Option
	}{
		{"courier (budget + ejection, the defaults)", false, client.DefaultOption},
		{"courier, budget only", false, noEject},
		{"courier, no budget, no ejection", false, nothing},
		{"rpcx", true, client.Option{}},
	} {
		cl, err := startN(c.rpcx, 3, behaviour{}, true)
		if err != nil {
			return nil, err
		}
		var k *caller
		if c.rpcx {
			opt := rclient.DefaultOption
			opt.Retries = 3
			k, err = rpcxX(cl.addrs(), rclient.Failover, rclient.RandomSelect, opt)
		} else {
			c.opt.Retries = 3
			k, err = courierX(cl.addrs(), client.Failover, client.RandomSelect, c.opt)
		}
		if err != nil {
			cl.stop()
			return nil, err
		}
		o := closedLoop(20, d, 5*time.Second, k.call)
		attempts, calls := cl.attempts(), o.calls.Load()
		ratio := float64(attempts) / float64(calls)
		extra := "| - | - | - | - |"
		if k.stats != nil {
			st := k.stats()
			extra = fmt.Sprintf("| %d | %d | %d | %d |", st.Retries, st.TransparentRetries, st.BudgetExhausted, st.Ejections)
		}
		k.close()
		cl.stop()
		r.row("| %s | %d | %d | %.3f | %d %s", c.name, calls, attempts, ratio, o.errors.Load(), extra)
		if !c.rpcx && !c.opt.DisableRetryBudget {
			r.check(ratio <= 1.25, "%s: %.3f attempts per call <= 1.25", c.name, ratio)
		}
	}
	return r, nil
}

// brownOut is scenario 4: one of 3 servers answers "overloaded" to every
// call; Failover, RoundRobin, c=10, 1 s.
func brownOut(time.Duration) (*report, error) {
	const d = time.Second
	r := &report{title: "4. Brown-out: 3 servers, one answers \"overloaded\" to every call, Failover, RoundRobin, c=10 closed loop, 1 s",
		head: "| client | calls | failed calls | requests to the overloaded server | share of all requests |\n|---|---|---|---|---|"}
	for _, rpcx := range []bool{false, true} {
		cl, err := startN(rpcx, 3, behaviour{overloaded: true}, false)
		if err != nil {
			return nil, err
		}
		var k *caller
		name := "courier (defaults)"
		if rpcx {
			name = "rpcx"
			k, err = rpcxX(cl.addrs(), rclient.Failover, rclient.RoundRobin, rclient.DefaultOption)
		} else {
			k, err = courierX(cl.addrs(), client.Failover, client.RoundRobin, client.DefaultOption)
		}
		if err != nil {
			cl.stop()
			return nil, err
		}
		o := closedLoop(10, d, 5*time.Second, k.call)
		bad, all := cl[0].svc.hits.Load(), cl.attempts()
		share := float64(bad) / float64(all)
		k.close()
		cl.stop()
		r.row("| %s | %d | %d | %d | %.3f %% |", name, o.calls.Load(), o.errors.Load(), bad, 100*share)
		if !rpcx {
			r.check(share <= 0.10, "courier: the overloaded server got %.3f %% of requests <= 10 %%", 100*share)
		}
	}
	return r, nil
}
