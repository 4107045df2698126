package client

import (
	"sync"
	"sync/atomic"
	"time"
)

// OutlierConfig configures outlier ejection, which works with every
// selector: a server that fails ConsecutiveFailures attempts in a row (a
// connection error, a timeout, never a service error), answers
// "overloaded", or whose latency is LatencyFactor times the mean of its
// peers' leaves selection for an ejection period. The period starts at
// BaseEjection and doubles with each ejection in a row, up to MaxEjection;
// a success brings the count back to zero. At most MaxEjectedPercent of the
// servers (at least one when there are two or more) are ejected at once,
// and when only ejected servers are left they are used anyway.
type OutlierConfig struct {
	// Disabled turns outlier ejection off.
	Disabled bool
	// ConsecutiveFailures ejects a server after this many failed attempts
	// in a row. Default 5.
	ConsecutiveFailures int
	// BaseEjection is the first ejection period. Default 1s.
	BaseEjection time.Duration
	// MaxEjection caps the ejection period. Default 30s.
	MaxEjection time.Duration
	// MaxEjectedPercent caps the share of servers ejected at once.
	// Default 50.
	MaxEjectedPercent int
	// LatencyFactor ejects a server whose latency (an EWMA over about its
	// last 20 calls) exceeds this multiple of its peers' mean, once it and
	// a peer have LatencyMinSamples samples (5 is a reasonable value).
	// Default 0: no latency ejection, because on a busy machine the noise
	// of healthy servers' latencies ejects them too.
	LatencyFactor float64
	// LatencyMinSamples is the number of calls a server needs before its
	// latency is judged. Default 20.
	LatencyMinSamples int
	// LatencyMinExcess is how much slower than its peers' mean a server
	// must also be to be ejected for latency, so that noise between fast
	// servers (10µs against 1µs) ejects nothing. Default 5ms.
	LatencyMinExcess time.Duration
}

func (c OutlierConfig) withDefaults() OutlierConfig {
	if c.ConsecutiveFailures <= 0 {
		c.ConsecutiveFailures = 5
	}
	if c.BaseEjection <= 0 {
		c.BaseEjection = time.Second
	}
	if c.MaxEjection < c.BaseEjection {
		c.MaxEjection = max(30*time.Second, c.BaseEjection)
	}
	if c.MaxEjectedPercent <= 0 || c.MaxEjectedPercent > 100 {
		c.MaxEjectedPercent = 50
	}
	if c.LatencyMinSamples <= 0 {
		c.LatencyMinSamples = 20
	}
	if c.LatencyMinExcess <= 0 {
		c.LatencyMinExcess = 5 * time.Millisecond
	}
	return c
}

// outlierState is what the detector knows of one server.
type outlierState struct {
	failures int       // consecutive failed attempts
	streak   int       // ejections in a row (doubles the period)
	until    time.Time // ejected until then
	ewma     float64   // latency, seconds
	samples  int
}

// outliers is the ejection detector of one XClient; its mutex guards the
// map, which report, ejected and retain share.
type outliers struct {
	cfg OutlierConfig
	now func() time.Time

	mu      sync.Mutex
	servers map[string]*outlierState
	count   int // servers known from discovery

	// live (read without mu) says count >= 2: with fewer servers none
	// can be ejected, so ejected and report return at once, without the
	// lock or the clock (a one-server XClient pays nothing per call).
	live atomic.Bool
}

func newOutliers(cfg OutlierConfig) *outliers {
	return &outliers{cfg: cfg.withDefaults(), now: time.Now, servers: map[string]*outlierState{}}
}

// retain keeps the state of the servers in keys only.
func (o *outliers) retain(keys map[string]string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k := range o.servers {
		if _, ok := keys[k]; !ok {
			delete(o.servers, k)
		}
	}
	o.count = len(keys)
	o.live.Store(o.count >= 2)
}

// active reports whether attempts need timing for o: it ejects servers.
func (o *outliers) active() bool { return o != nil && o.live.Load() }

// ejected reports whether key is out of selection now.
func (o *outliers) ejected(key string) bool {
	if !o.active() {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.servers[key]
	return st != nil && !st.until.IsZero() && o.now().Before(st.until)
}

// outcome is the kind of result report gets.
type outcome uint8

const (
	outcomeSuccess    outcome = iota // the server answered (service errors too)
	outcomeFailure                   // a connection error or timeout
	outcomeOverloaded                // the server refused: overloaded
)

// report records the result of an attempt on key and reports whether it
// ejected key.
func (o *outliers) report(key string, rtt time.Duration, oc outcome) bool {
	if !o.active() {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.servers[key]
	if st == nil {
		st = &outlierState{}
		o.servers[key] = st
	}
	switch oc {
	case outcomeSuccess:
		st.failures = 0
		if st.streak != 0 && !o.now().Before(st.until) {
			st.streak = 0
		}
		st.samples++
		if st.ewma == 0 {
			st.ewma = rtt.Seconds()
		} else {
			st.ewma += 0.05 * (rtt.Seconds() - st.ewma)
		}
		if o.slowLocked(key, st) {
			return o.ejectLocked(st)
		}
	case outcomeFailure:
		st.failures++
		if st.failures >= o.cfg.ConsecutiveFailures {
			return o.ejectLocked(st)
		}
	case outcomeOverloaded:
		return o.ejectLocked(st)
	}
	return false
}

// slowLocked reports whether st's latency is far above its peers' mean.
func (o *outliers) slowLocked(key string, st *outlierState) bool {
	if o.cfg.LatencyFactor <= 0 || st.samples < o.cfg.LatencyMinSamples {
		return false
	}
	var sum float64
	n := 0
	for k, p := range o.servers {
		if k != key && p.samples >= o.cfg.LatencyMinSamples {
			sum += p.ewma
			n++
		}
	}
	if n == 0 {
		return false
	}
	mean := sum / float64(n)
	return st.ewma > o.cfg.LatencyFactor*mean && st.ewma-mean > o.cfg.LatencyMinExcess.Seconds()
}

// ejectLocked ejects st unless the cap on ejected servers is reached or
// st is ejected already.
func (o *outliers) ejectLocked(st *outlierState) bool {
	now := o.now()
	if now.Before(st.until) {
		return false
	}
	ejected := 0
	for _, p := range o.servers {
		if now.Before(p.until) {
			ejected++
		}
	}
	if o.count < 2 || ejected+1 > max(1, o.count*o.cfg.MaxEjectedPercent/100) {
		return false
	}
	d := o.cfg.BaseEjection << min(st.streak, 20)
	if d <= 0 || d > o.cfg.MaxEjection {
		d = o.cfg.MaxEjection
	}
	st.streak++
	st.failures = 0
	st.until = now.Add(d)
	return true
}
