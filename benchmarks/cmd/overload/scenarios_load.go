package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	rclient "github.com/smallnest/rpcx/client"
)

// capacityServer is scenario 2's server: 8 calls at once, 2 ms each, so
// about 4,000 calls/s.
var capacityServer = behaviour{capacity: 8, hold: 2 * time.Millisecond}

// overload is scenario 2: one server offered 3x its measured peak, open
// loop, with and without the limiter, and rpcx.
func overload(d time.Duration) (*report, error) {
	r := &report{title: "2. Overload: one server (8 slots x 2 ms), open loop at 3x its measured peak, " + d.String() + ", 1 s call timeout",
		head: "| server | offered/s | goodput/s | % of peak | p50 ms | p99 ms | p99 / unloaded p99 | failed | shed by server | goroutines back to idle |\n|---|---|---|---|---|---|---|---|---|---|"}
	cl, err := startN(false, 1, capacityServer, false)
	if err != nil {
		return nil, err
	}
	k, err := courierConn(cl[0].addr)
	if err != nil {
		cl.stop()
		return nil, err
	}
	peak := closedLoop(32, d, 5*time.Second, k.call).goodput()
	unloaded := openLoop(peak*0.3, d, time.Second, 1<<20, k.call)
	k.close()
	cl.stop()
	r.row("| courier, measurement | %.0f (closed loop, c=32) | %.0f | 100 | - | %s (at 30 %% load) | 1 | - | - | - |", peak, peak, ms(unloaded.p(0.99)))
	rate := 3 * peak
	for _, c := range []struct {
		name string
		rpcx bool
		opts []server.OptionFn
	}{
		{"courier + GradientLimiter", false, []server.OptionFn{server.WithConcurrencyLimiter(server.NewGradientLimiter(server.GradientConfig{}))}},
		{"courier + GradientLimiter + 5 ms queue", false, []server.OptionFn{server.WithConcurrencyLimiter(server.NewGradientLimiter(server.GradientConfig{})), server.WithQueueTimeout(5 * time.Millisecond)}},
		{"courier, no limiter", false, nil},
		{"rpcx", true, nil},
	} {
		base := runtime.NumGoroutine()
		cl, err := startN(c.rpcx, 1, capacityServer, false, c.opts...)
		if err != nil {
			return nil, err
		}
		var k *caller
		if c.rpcx {
			k, err = rpcxConn(cl[0].addr)
		} else {
			k, err = courierConn(cl[0].addr)
		}
		if err != nil {
			cl.stop()
			return nil, err
		}
		o := openLoop(rate, d, time.Second, 50000, k.call)
		settle, left := goroutinesSettle(base + 20)
		shed := "-"
		if cl[0].courier != nil {
			shed = fmt.Sprint(cl[0].courier.Stats().Shed)
		}
		k.close()
		cl.stop()
		good := o.goodput()
		ratio := float64(o.p(0.99)) / float64(unloaded.p(0.99))
		r.row("| %s | %.0f | %.0f | %.0f | %s | %s | %.1f | %d | %s | %s (%d left) |", c.name, rate, good, 100*good/peak,
			ms(o.p(0.5)), ms(o.p(0.99)), ratio, o.errors.Load()+o.dropped.Load(), shed, settle.Round(10*time.Millisecond), left-base)
		if c.name == "courier + GradientLimiter" {
			r.check(good >= 0.9*peak, "limiter goodput %.0f/s >= 90 %% of peak %.0f/s", good, peak)
			r.check(ratio <= 5, "limiter p99 of admitted calls %.1f x unloaded p99 <= 5", ratio)
		}
	}
	return r, nil
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
