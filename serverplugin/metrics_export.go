package serverplugin

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	metrics "github.com/rcrowley/go-metrics"
	"github.com/rcrowley/go-metrics/exp"

	"github.com/courier-rpc/courier/log"
)

// graphiteTimeout bounds connecting to Graphite and writing one report.
const graphiteTimeout = 10 * time.Second

// expPath is where Exp serves the registry on http.DefaultServeMux.
const expPath = "/debug/metrics"

// expOnce guards the one registration Exp may make on http.DefaultServeMux
// (a second registration of a path panics).
var expOnce sync.Once

// HTTPHandler returns a handler that serves the plugin's registry as one
// JSON object (metric name to its values), as go-metrics' WriteJSONOnce
// writes it. It is safe for concurrent use.
func (p *MetricsPlugin) HTTPHandler() http.Handler {
	r := p.reg()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		metrics.WriteJSONOnce(r, w)
	})
}

// ExpHandler returns go-metrics' expvar handler for the plugin's registry:
// on each request it publishes the metrics as expvar variables and serves
// all expvar variables as JSON.
func (p *MetricsPlugin) ExpHandler() http.Handler {
	return exp.ExpHandler(p.reg())
}

// Exp serves the plugin's registry through expvar on http.DefaultServeMux
// at /debug/metrics (rpcx behaviour); the program serves that mux itself.
// Only the first call in a process registers the path (a second
// registration would panic), so with several plugins use ExpHandler.
func (p *MetricsPlugin) Exp() {
	h := p.ExpHandler()
	expOnce.Do(func() { http.Handle(expPath, h) })
}

// exporter starts f in a goroutine that Stop ends; f must return when stop
// is closed.
func (p *MetricsPlugin) exporter(f func(stop <-chan struct{})) {
	p.exportMu.Lock()
	defer p.exportMu.Unlock()
	if p.stop == nil {
		p.stop = make(chan struct{})
	}
	stop := p.stop
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f(stop)
	}()
}

// Stop ends the exporters started by Log and Graphite and waits for them.
// Exporters started after Stop run until the next Stop. It is safe for
// concurrent use.
func (p *MetricsPlugin) Stop() {
	p.exportMu.Lock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.exportMu.Unlock()
	p.wg.Wait()
}

// tick calls f every freq until stop is closed.
func tick(freq time.Duration, stop <-chan struct{}, f func()) {
	t := time.NewTicker(freq)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f()
		case <-stop:
			return
		}
	}
}

// Log writes every metric of the registry to l every freq (go-metrics' Log
// format) until Stop. A freq <= 0 or a nil l is logged as an error and
// starts nothing.
func (p *MetricsPlugin) Log(freq time.Duration, l metrics.Logger) {
	if freq <= 0 || l == nil {
		log.Errorf("serverplugin: metrics Log needs freq > 0 and a logger (freq %v, logger %T)", freq, l)
		return
	}
	r := p.reg()
	p.exporter(func(stop <-chan struct{}) {
		cue := make(chan interface{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			metrics.LogOnCue(r, cue, l)
		}()
		tick(freq, stop, func() { cue <- struct{}{} })
		close(cue)
		<-done
	})
}

// Graphite sends every metric of the registry to the Graphite server at
// addr every freq, in Graphite's plaintext protocol ("path value
// timestamp\n" lines over TCP; prefix and a dot are put before each
// name), until Stop. A failed report is logged and retried at the next
// tick. A freq <= 0 or a nil addr is logged as an error and starts nothing.
func (p *MetricsPlugin) Graphite(freq time.Duration, prefix string, addr *net.TCPAddr) {
	if freq <= 0 || addr == nil {
		log.Errorf("serverplugin: metrics Graphite needs freq > 0 and an address (freq %v, addr %v)", freq, addr)
		return
	}
	r := p.reg()
	p.exporter(func(stop <-chan struct{}) {
		tick(freq, stop, func() {
			if err := graphiteOnce(r, prefix, addr.String()); err != nil {
				log.Warnf("serverplugin: metrics to graphite %v: %v", addr, err)
			}
		})
	})
}

// graphiteOnce connects to addr and writes one report.
func graphiteOnce(r metrics.Registry, prefix, addr string) error {
	conn, err := net.DialTimeout("tcp", addr, graphiteTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(graphiteTimeout)); err != nil {
		return err
	}
	return writeGraphite(conn, r, prefix, time.Now())
}

// graphitePercentiles are the percentiles reported for histograms and
// timers, with the suffixes of their names.
var graphitePercentiles = []struct {
	q    float64
	name string
}{{0.5, "50-percentile"}, {0.75, "75-percentile"}, {0.95, "95-percentile"}, {0.99, "99-percentile"}, {0.999, "999-percentile"}}

// writeGraphite writes every metric of r to w in Graphite's plaintext
// protocol with timestamp now. Names get prefix and a dot in front (none
// when prefix is empty); whitespace in names becomes "_".
func writeGraphite(w io.Writer, r metrics.Registry, prefix string, now time.Time) error {
	bw := bufio.NewWriter(w)
	ts := now.Unix()
	line := func(name, field string, v interface{}) {
		fmt.Fprintf(bw, "%s.%s %v %d\n", name, field, v, ts)
	}
	r.Each(func(name string, i interface{}) {
		name = graphiteName(prefix, name)
		switch m := i.(type) {
		case metrics.Counter:
			line(name, "count", m.Count())
		case metrics.Gauge:
			line(name, "value", m.Value())
		case metrics.GaugeFloat64:
			line(name, "value", m.Value())
		case metrics.Histogram:
			graphiteDistribution(line, name, m.Snapshot())
		case metrics.Meter:
			s := m.Snapshot()
			line(name, "count", s.Count())
			graphiteRates(line, name, s, "mean")
		case metrics.Timer:
			t := m.Snapshot()
			graphiteDistribution(line, name, t)
			graphiteRates(line, name, t, "mean-rate")
		}
	})
	return bw.Flush()
}

// distribution is what histogram and timer snapshots report alike.
type distribution interface {
	Count() int64
	Min() int64
	Max() int64
	Mean() float64
	StdDev() float64
	Percentile(float64) float64
}

// rates is what meter and timer snapshots report alike.
type rates interface {
	Rate1() float64
	Rate5() float64
	Rate15() float64
	RateMean() float64
}

// graphiteDistribution writes the count, extremes, mean, deviation and
// graphitePercentiles of d.
func graphiteDistribution(line func(name, field string, v interface{}), name string, d distribution) {
	line(name, "count", d.Count())
	line(name, "min", d.Min())
	line(name, "max", d.Max())
	line(name, "mean", d.Mean())
	line(name, "std-dev", d.StdDev())
	for _, pc := range graphitePercentiles {
		line(name, pc.name, d.Percentile(pc.q))
	}
}

// graphiteRates writes the 1, 5 and 15 minute rates of r and its mean rate
// under the field meanField.
func graphiteRates(line func(name, field string, v interface{}), name string, r rates, meanField string) {
	line(name, "one-minute", r.Rate1())
	line(name, "five-minute", r.Rate5())
	line(name, "fifteen-minute", r.Rate15())
	line(name, meanField, r.RateMean())
}

// graphiteName joins prefix and name and replaces whitespace, which would
// end the path in the plaintext protocol.
func graphiteName(prefix, name string) string {
	if prefix != "" {
		name = prefix + "." + name
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return '_'
		}
		return r
	}, name)
}
