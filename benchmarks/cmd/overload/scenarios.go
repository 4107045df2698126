package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	rclient "github.com/smallnest/rpcx/client"
)

// report collects one scenario's table and checks.
type report struct {
	title, head string
	rows        []string
	checks      []string
}

func (r *report) row(format string, a ...any) { r.rows = append(r.rows, fmt.Sprintf(format, a...)) }

func (r *report) check(ok bool, format string, a ...any) {
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	r.checks = append(r.checks, verdict+": "+fmt.Sprintf(format, a...))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

// startN starts healthy courier or rpcx servers, the first with first.
func startN(rpcx bool, n int, first behaviour, firstReset bool, opts ...server.OptionFn) (cluster, error) {
	var c cluster
	for i := range n {
		b, reset := behaviour{}, false
		if i == 0 {
			b, reset = first, firstReset
		}
		var nd *node
		var err error
		if rpcx {
			nd, err = startRpcx(b, reset)
		} else {
			nd, err = startCourier(b, reset, opts...)
		}
		if err != nil {
			c.stop()
			return nil, err
		}
		c = append(c, nd)
	}
	return c, nil
}

// slowCfg is one row of scenario 1.
type slowCfg struct {
	name  string
	rpcx  bool
	n     int
	slow  bool
	cmode client.SelectMode
	rmode rclient.SelectMode
	eject bool // latency ejection (OutlierConfig.LatencyFactor 5)
}

const healthyOnly = "courier RoundRobin, the 2 healthy only"

// slowServer is scenario 1: one of 3 servers answers 20 ms later, c=100.
// In each of rounds rounds, P2C and its baseline (the 2 healthy servers)
// run side by side and take turns of d/6, so that both see the same
// machine; the other selectors run once, unless pairOnly.
func slowServer(d time.Duration, rounds int, pairOnly bool) (*report, error) {
	r := &report{title: fmt.Sprintf("1. Slow server: 3 servers, one +20 ms per call, c=100 closed loop, %s per row (P2C and its baseline: %d rounds, taking turns of %s)", d, rounds, d/slowTurns),
		head: "| round | client | servers | calls/s | p50 ms | p99 ms | share to the slow server | ejections |\n|---|---|---|---|---|---|---|---|"}
	p2c := slowCfg{name: "courier P2CPeakEWMA", n: 3, slow: true, cmode: client.P2CPeakEWMA}
	base := slowCfg{name: healthyOnly, n: 2, cmode: client.RoundRobin}
	passed := 0
	for i := range rounds {
		round := fmt.Sprint(i + 1)
		pb, pp, err := slowPair(r, round, base, p2c, d)
		if err != nil {
			return nil, err
		}
		ok := pp <= pb*3/2
		if ok {
			passed++
		}
		r.check(ok, "round %d: P2C p99 %s ms <= 1.5 x the 2-healthy p99 %s ms", i+1, ms(pp), ms(pb))
	}
	r.check(passed == rounds, "P2C held the 1.5x target in %d of %d rounds", passed, rounds)
	if pairOnly {
		return r, nil
	}
	for _, c := range []slowCfg{
		{name: "courier P2CPeakEWMA + latency ejection", n: 3, slow: true, cmode: client.P2CPeakEWMA, eject: true},
		{name: "courier RandomSelect", n: 3, slow: true, cmode: client.RandomSelect},
		{name: "courier RandomSelect + latency ejection", n: 3, slow: true, cmode: client.RandomSelect, eject: true},
		{name: "courier RoundRobin", n: 3, slow: true, cmode: client.RoundRobin},
		{name: "rpcx RandomSelect", rpcx: true, n: 3, slow: true, rmode: rclient.RandomSelect},
		{name: "rpcx RoundRobin", rpcx: true, n: 3, slow: true, rmode: rclient.RoundRobin},
		{name: "rpcx WeightedRoundRobin", rpcx: true, n: 3, slow: true, rmode: rclient.WeightedRoundRobin},
	} {
		rig, err := newSlowRig(c)
		if err != nil {
			return nil, err
		}
		rig.o.closedLoop(100, d, 5*time.Second, rig.k.call)
		rig.finish(r, "-")
	}
	return r, nil
}

// slowTurns is how many turns each of P2C and its baseline takes per round.
const slowTurns = 6

// slowPair runs a and b side by side, taking turns (a first in odd
// turns), and returns their p99s.
func slowPair(r *report, round string, a, b slowCfg, d time.Duration) (time.Duration, time.Duration, error) {
	ra, err := newSlowRig(a)
	if err != nil {
		return 0, 0, err
	}
	rb, err := newSlowRig(b)
	if err != nil {
		ra.finish(r, round)
		return 0, 0, err
	}
	for i := range slowTurns {
		first, second := ra, rb
		if i%2 == 1 {
			first, second = rb, ra
		}
		first.o.closedLoop(100, d/slowTurns, 5*time.Second, first.k.call)
		second.o.closedLoop(100, d/slowTurns, 5*time.Second, second.k.call)
	}
	return ra.finish(r, round), rb.finish(r, round), nil
}

// slowRig is one row of scenario 1 being measured: its servers, client
// and outcome so far.
type slowRig struct {
	c  slowCfg
	cl cluster
	k  *caller
	o  *outcome
}

func newSlowRig(c slowCfg) (*slowRig, error) {
	first := behaviour{}
	if c.slow {
		first = behaviour{delay: 20 * time.Millisecond}
	}
	cl, err := startN(c.rpcx, c.n, first, false)
	if err != nil {
		return nil, err
	}
	var k *caller
	if c.rpcx {
		k, err = rpcxX(cl.addrs(), rclient.Failfast, c.rmode, rclient.DefaultOption)
	} else {
		opt := client.DefaultOption
		if c.eject {
			opt.Outlier.LatencyFactor = 5
		}
		k, err = courierX(cl.addrs(), client.Failfast, c.cmode, opt)
	}
	if err != nil {
		cl.stop()
		return nil, err
	}
	return &slowRig{c: c, cl: cl, k: k, o: &outcome{}}, nil
}

// finish stops the rig, adds its row to r and returns its p99.
func (g *slowRig) finish(r *report, round string) time.Duration {
	ejections := "-"
	if g.k.stats != nil {
		ejections = fmt.Sprint(g.k.stats().Ejections)
	}
	g.k.close()
	share := "-"
	if g.c.slow {
		share = fmt.Sprintf("%.2f %%", 100*float64(g.cl[0].svc.hits.Load())/float64(g.cl.attempts()))
	}
	g.cl.stop()
	o := g.o
	r.row("| %s | %s | %d | %.0f | %s | %s | %s | %s |", round, g.c.name, g.c.n, o.goodput(), ms(o.p(0.5)), ms(o.p(0.99)), share, ejections)
	return o.p(0.99)
}

// goroutinesSettle waits until the goroutine count is within 50 of base
// (at most 10 s) and returns how long that took.
func goroutinesSettle(base int) (time.Duration, int) {
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if n := runtime.NumGoroutine(); n <= base+50 {
			return time.Since(start), n
		}
		time.Sleep(20 * time.Millisecond) // sampling the count
	}
	return time.Since(start), runtime.NumGoroutine()
}
