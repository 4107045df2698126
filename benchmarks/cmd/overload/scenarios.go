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

// slowServer is scenario 1: one of 3 servers answers 20 ms later, c=100.
func slowServer(d time.Duration) (*report, error) {
	r := &report{title: "1. Slow server: 3 servers, one +20 ms per call, c=100 closed loop, " + d.String(),
		head: "| client | servers | calls/s | p50 ms | p99 ms | share to the slow server | ejections |\n|---|---|---|---|---|---|---|"}
	type cfg struct {
		name  string
		rpcx  bool
		n     int
		slow  bool
		cmode client.SelectMode
		rmode rclient.SelectMode
		eject bool // latency ejection (OutlierConfig.LatencyFactor 5)
	}
	slow := behaviour{delay: 20 * time.Millisecond}
	p99 := map[string]time.Duration{}
	for _, c := range []cfg{
		{name: "courier P2CPeakEWMA", n: 3, slow: true, cmode: client.P2CPeakEWMA},
		{name: "courier P2CPeakEWMA + latency ejection", n: 3, slow: true, cmode: client.P2CPeakEWMA, eject: true},
		{name: "courier RandomSelect", n: 3, slow: true, cmode: client.RandomSelect},
		{name: "courier RandomSelect + latency ejection", n: 3, slow: true, cmode: client.RandomSelect, eject: true},
		{name: "courier RoundRobin", n: 3, slow: true, cmode: client.RoundRobin},
		{name: "courier RoundRobin, the 2 healthy only", n: 2, cmode: client.RoundRobin},
		{name: "rpcx RandomSelect", rpcx: true, n: 3, slow: true, rmode: rclient.RandomSelect},
		{name: "rpcx RoundRobin", rpcx: true, n: 3, slow: true, rmode: rclient.RoundRobin},
		{name: "rpcx WeightedRoundRobin", rpcx: true, n: 3, slow: true, rmode: rclient.WeightedRoundRobin},
	} {
		first := behaviour{}
		if c.slow {
			first = slow
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
		o := closedLoop(100, d, 5*time.Second, k.call)
		ejections := "-"
		if k.stats != nil {
			ejections = fmt.Sprint(k.stats().Ejections)
		}
		k.close()
		share := "-"
		if c.slow {
			share = fmt.Sprintf("%.2f %%", 100*float64(cl[0].svc.hits.Load())/float64(cl.attempts()))
		}
		cl.stop()
		p99[c.name] = o.p(0.99)
		r.row("| %s | %d | %.0f | %s | %s | %s | %s |", c.name, c.n, o.goodput(), ms(o.p(0.5)), ms(o.p(0.99)), share, ejections)
	}
	base, p2c := p99["courier RoundRobin, the 2 healthy only"], p99["courier P2CPeakEWMA"]
	r.check(p2c <= base*3/2, "P2C p99 %s ms <= 1.5 x the 2-healthy p99 %s ms", ms(p2c), ms(base))
	return r, nil
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
