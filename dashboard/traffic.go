package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metrics status of a server as the page shows it.
const (
	metricsPending = "pending" // not scraped yet
	metricsOK      = "ok"
	metricsNone    = "none" // no metrics endpoint (or not the histogram): shown as such, not as zero
)

// point is one interval of traffic: calls/s, errors/s and the p50/p99
// latency in milliseconds of the calls in it (NaN without calls). It is
// encoded as [unixMillis, calls, errors, p50|null, p99|null].
type point struct {
	T             int64
	Calls, Errors float64
	P50, P99      float64
}

// MarshalJSON encodes the point as a compact array.
func (p point) MarshalJSON() ([]byte, error) {
	num := func(f float64) string {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "null"
		}
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	return []byte("[" + strconv.FormatInt(p.T, 10) + "," + num(p.Calls) + "," + num(p.Errors) + "," +
		num(p.P50) + "," + num(p.P99) + "]"), nil
}

// serverTraffic is what the scraper knows of one server. Owned by
// traffic.mu.
type serverTraffic struct {
	status   string
	reason   string
	url      string
	last     snapshot
	lastAt   time.Time
	total    []point
	methods  map[string][]point // by rpc_method "Service/Method"
	services map[string][]point // by service: its methods summed
}

// traffic keeps the scraped series of every server for the last window.
// It is safe for concurrent use; scrapeAll is its only writer.
type traffic struct {
	client   *http.Client
	interval time.Duration
	keep     int // points kept per series

	mu      sync.Mutex
	servers map[string]*serverTraffic // by server key "network@address"
}

func newTraffic(interval, window time.Duration) *traffic {
	return &traffic{
		client:   &http.Client{Timeout: min(interval, 2*time.Second)},
		interval: interval,
		keep:     max(int(window/interval), 2),
		servers:  map[string]*serverTraffic{},
	}
}

// metricsURL returns where the metrics of server key are: the metadata's
// "metrics" URL when it has one, else /metrics on the server's own port
// for the stream networks that speak HTTP there ("" otherwise).
func metricsURL(key, metadata string) string {
	if v, err := url.ParseQuery(metadata); err == nil {
		if u := v.Get("metrics"); strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			return u
		}
	}
	network, addr, ok := strings.Cut(key, "@")
	if !ok {
		return ""
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "http", "ws":
		return "http://" + addr + "/metrics"
	}
	return ""
}

// sync makes the set of scraped servers the given one (key -> metadata).
func (t *traffic) sync(servers map[string]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.servers {
		if _, ok := servers[k]; !ok {
			delete(t.servers, k)
		}
	}
	for k, md := range servers {
		u := metricsURL(k, md)
		st := t.servers[k]
		if st == nil || st.url != u {
			st = &serverTraffic{status: metricsPending, url: u, methods: map[string][]point{}, services: map[string][]point{}}
			if u == "" {
				st.status, st.reason = metricsNone, "network "+strings.SplitN(k, "@", 2)[0]+" has no HTTP side"
			}
			t.servers[k] = st
		}
	}
}

// scrapeAll scrapes every server once, at most 16 at a time.
func (t *traffic) scrapeAll(ctx context.Context) {
	t.mu.Lock()
	todo := map[string]string{}
	for k, st := range t.servers {
		if st.url != "" {
			todo[k] = st.url
		}
	}
	t.mu.Unlock()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for k, u := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			snap, err := t.scrape(ctx, u)
			t.record(k, u, time.Now(), snap, err)
		}()
	}
	wg.Wait()
}

func (t *traffic) scrape(ctx context.Context, u string) (snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// record stores one scrape and, from the second on, a point per method.
func (t *traffic) record(key, u string, at time.Time, snap snapshot, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.servers[key]
	if st == nil || st.url != u {
		return // the server left (or moved) while it was scraped
	}
	if err != nil {
		st.status, st.reason, st.last = metricsNone, err.Error(), nil
		return
	}
	st.status, st.reason = metricsOK, ""
	if st.last != nil {
		dt := at.Sub(st.lastAt).Seconds()
		total := newCounts()
		perService := map[string]*methodCounts{}
		for m, cur := range snap {
			d := delta(cur, st.last[m])
			st.methods[m] = t.appendPoint(st.methods[m], toPoint(at, dt, d))
			total.add(d)
			svc, _, _ := strings.Cut(m, "/")
			if perService[svc] == nil {
				perService[svc] = newCounts()
			}
			perService[svc].add(d)
		}
		st.total = t.appendPoint(st.total, toPoint(at, dt, total))
		for svc, c := range perService {
			st.services[svc] = t.appendPoint(st.services[svc], toPoint(at, dt, c))
		}
		for svc, ps := range st.services {
			if perService[svc] == nil { // no call of this service in this interval
				st.services[svc] = t.appendPoint(ps, toPoint(at, dt, newCounts()))
			}
		}
	}
	st.last, st.lastAt = snap, at
}

func newCounts() *methodCounts { return &methodCounts{buckets: map[float64]float64{}} }

// add adds d's counts to c.
func (c *methodCounts) add(d *methodCounts) {
	c.count += d.count
	c.errors += d.errors
	for le, n := range d.buckets {
		c.buckets[le] += n
	}
}

func (t *traffic) appendPoint(ps []point, p point) []point {
	ps = append(ps, p)
	if len(ps) > t.keep {
		ps = append(ps[:0:0], ps[len(ps)-t.keep:]...)
	}
	return ps
}

// delta is cur minus prev; a counter that went down (the server
// restarted) counts from zero.
func delta(cur, prev *methodCounts) *methodCounts {
	if prev == nil || cur.count < prev.count {
		return cur
	}
	d := &methodCounts{count: cur.count - prev.count, errors: max(cur.errors-prev.errors, 0), buckets: map[float64]float64{}}
	for le, c := range cur.buckets {
		d.buckets[le] = max(c-prev.buckets[le], 0)
	}
	return d
}

func toPoint(at time.Time, dt float64, d *methodCounts) point {
	p := point{T: at.UnixMilli(), P50: math.NaN(), P99: math.NaN()}
	if dt <= 0 {
		return p
	}
	p.Calls, p.Errors = d.count/dt, d.errors/dt
	if d.count > 0 {
		p.P50, p.P99 = quantile(0.5, d.buckets)*1000, quantile(0.99, d.buckets)*1000
	}
	return p
}

// serverSummary is a server's metrics status and its last points.
type serverSummary struct {
	Status string  `json:"status"`
	Reason string  `json:"reason,omitempty"`
	URL    string  `json:"url,omitempty"`
	Total  []point `json:"total"`
	// Services holds each service's own series (its methods summed), so
	// a server that serves several shows each one's traffic in its row.
	Services map[string][]point `json:"services,omitempty"`
}

// overview returns every server's status and its last n total points.
func (t *traffic) overview(n int) map[string]serverSummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]serverSummary, len(t.servers))
	for k, st := range t.servers {
		sum := serverSummary{Status: st.status, Reason: st.reason, URL: st.url, Total: lastN(st.total, n)}
		if len(st.services) > 0 {
			sum.Services = make(map[string][]point, len(st.services))
			for svc, ps := range st.services {
				sum.Services[svc] = lastN(ps, n)
			}
		}
		out[k] = sum
	}
	return out
}

// detail returns one server's summary and every method's series, or false
// when the server is unknown.
func (t *traffic) detail(key string) (serverSummary, map[string][]point, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.servers[key]
	if st == nil {
		return serverSummary{}, nil, false
	}
	methods := make(map[string][]point, len(st.methods))
	for m, ps := range st.methods {
		methods[m] = lastN(ps, len(ps))
	}
	return serverSummary{Status: st.status, Reason: st.reason, URL: st.url, Total: lastN(st.total, len(st.total))}, methods, true
}

func lastN(ps []point, n int) []point {
	if len(ps) > n {
		ps = ps[len(ps)-n:]
	}
	return append([]point{}, ps...)
}

var _ json.Marshaler = point{}
