package client

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// CallObserver is implemented by selectors that learn from the calls they
// route (the P2C selector does). The XClient calls Begin before each
// attempt on a server it selected and End after it, with the attempt's
// duration and error, from many goroutines at once.
type CallObserver interface {
	Begin(server string)
	End(server string, rtt time.Duration, err error)
}

// DefaultPeakEWMADecay is the time constant of the P2C selector's latency
// average (Finagle's default): a sample's weight halves in about 7s.
const DefaultPeakEWMADecay = 10 * time.Second

// p2cServer is one server of the P2C selector. Select reads its state
// with atomic loads and takes no lock; End serialises its updates with mu
// and publishes them with atomic stores (a Select that reads between two
// of them mixes an old and a new value, which moves a cost by less than
// one sample does).
type p2cServer struct {
	key      string
	weight   float64
	inflight atomic.Int64

	ewma  atomicFloat  // seconds; 0 until the first sample
	floor atomicFloat  // seconds: drops to any faster sample, rises toward slower ones with time constant decay
	last  atomic.Int64 // when the last sample was taken, ns since the selector's epoch

	mu      sync.Mutex // serialises End
	gap     float64    // seconds between samples, smoothed; under mu
	sampled bool       // under mu
}

// atomicFloat is a float64 read and written atomically.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *atomicFloat) store(v float64) { f.bits.Store(math.Float64bits(v)) }

// p2cSelector is the power of two choices with peak-EWMA: it draws two
// distinct servers at random and takes the one with the lower cost,
// latency estimate times (in-flight calls + 1) divided by weight, unless
// one is far slower than the other even on its fastest calls (see
// dominated): then the faster wins whatever the calls in flight. The
// estimate rises toward a
// sample above it (a peak) by the share of peakRise that passes between
// two samples of the server (smoothed), so a server sampled rarely takes
// its peaks at once and a busy one only once they last, and it decays
// toward lower samples with time constant decay (at least 1/20 of the way
// per sample), also while a server gets no calls, so a server once slow
// is tried again later.
type p2cSelector struct {
	decay   time.Duration
	epoch   time.Time // times are kept as time.Since(epoch): one monotonic clock read
	servers atomic.Pointer[p2cSet]
}

type p2cSet struct {
	list  []*p2cServer
	byKey map[string]*p2cServer
}

// NewP2CSelector returns the selector of the P2CPeakEWMA select mode for
// use with SetSelector; decay <= 0 means DefaultPeakEWMADecay. It is safe
// for concurrent use.
func NewP2CSelector(decay time.Duration) Selector {
	if decay <= 0 {
		decay = DefaultPeakEWMADecay
	}
	s := &p2cSelector{decay: decay, epoch: time.Now()}
	s.servers.Store(&p2cSet{byKey: map[string]*p2cServer{}})
	return s
}

// Select returns the cheaper of two random servers.
func (s *p2cSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	set := s.servers.Load()
	switch n := len(set.list); n {
	case 0:
		return ""
	case 1:
		return set.list[0].key
	default:
		i := rand.IntN(n)
		j := rand.IntN(n - 1)
		if j >= i {
			j++
		}
		a, b := set.list[i], set.list[j]
		now := s.now()
		la, fa := s.latency(a, now)
		lb, fb := s.latency(b, now)
		switch {
		case dominated(fa, fb):
			return b.key
		case dominated(fb, fa):
			return a.key
		case cost(b, lb) < cost(a, la):
			return b.key
		}
		return a.key
	}
}

// Dominance: a server whose fastest recent calls (floor) are over
// dominanceFactor times and dominanceExcess slower than another's loses
// every draw against it, whatever the calls in flight. The in-flight
// factor of the cost stands for queueing at the server, but when callers
// outnumber what the client's CPU can turn around, every call queues in
// the client too, so the busy fast servers' latency and calls in flight
// both grow while a slow one's barely do, and the cost would send it a
// steady share of calls: the tail of the latency distribution. The
// floor is what queueing cannot hide (some calls still get through fast).
const (
	dominanceFactor = 4
	dominanceExcess = float64(time.Millisecond) / float64(time.Second)
)

func dominated(floor, other float64) bool {
	return floor > dominanceFactor*other && floor-other > dominanceExcess
}

// now is the time since the selector's epoch.
func (s *p2cSelector) now() time.Duration { return time.Since(s.epoch) }

// latency returns the server's estimate and floor decayed to now (so a
// server without calls is tried again); 0, 0 without samples.
func (s *p2cSelector) latency(sv *p2cServer, now time.Duration) (lat, floor float64) {
	e := sv.ewma.load()
	if e == 0 {
		return 0, 0
	}
	f := expNeg(float64(now-time.Duration(sv.last.Load())) / float64(s.decay))
	return e * f, sv.floor.load() * f
}

// expNeg returns e**-x. Below |x| = 1e-3 (a busy server's gaps against
// the decay and peakRise) it uses the cubic Taylor polynomial, off by
// less than x**4/24 < 5e-14, at a fraction of math.Exp's cost.
func expNeg(x float64) float64 {
	if x < 1e-3 && x > -1e-3 {
		return 1 - x*(1-x*(0.5-x/6))
	}
	return math.Exp(-x)
}

// cost is latency * (inflight+1) / weight; a server without samples
// costs as little as possible, so new servers are tried.
func cost(sv *p2cServer, lat float64) float64 {
	return (lat + 1e-9) * float64(sv.inflight.Load()+1) / sv.weight
}

// UpdateServer keeps the state of servers that stay.
func (s *p2cSelector) UpdateServer(servers map[string]string) {
	old := s.servers.Load()
	set := &p2cSet{byKey: make(map[string]*p2cServer, len(servers))}
	for _, k := range sortedKeys(servers) {
		w := float64(weightOf(servers[k]))
		sv := old.byKey[k]
		if sv == nil || sv.weight != w {
			sv = &p2cServer{key: k, weight: w}
		}
		set.list = append(set.list, sv)
		set.byKey[k] = sv
	}
	s.servers.Store(set)
}

// Begin counts an attempt in flight on server.
func (s *p2cSelector) Begin(server string) {
	if sv := s.servers.Load().lookup(server); sv != nil {
		sv.inflight.Add(1)
	}
}

// lookup returns the server of key, or nil: a scan of a short list (the
// key is usually the very string Select returned), else the map.
func (set *p2cSet) lookup(key string) *p2cServer {
	if len(set.list) > 8 {
		return set.byKey[key]
	}
	for _, sv := range set.list {
		if sv.key == key {
			return sv
		}
	}
	return nil
}

// maxSampleWeight caps how much of the old estimate a sample below it
// keeps: at a high call rate the time decay alone would let one peak
// dominate for a whole decay period, so every sample also moves the
// estimate at least 1/20 of the way down.
const maxSampleWeight = 0.95

// failurePenalty is the least latency a failed attempt counts as: a
// server that fails fast must not look fast.
const failurePenalty = 100 * time.Millisecond

// peakRise is how long a peak must last to move a busy server's estimate
// about 63 % of the way up (see p2cSelector).
const peakRise = 50 * time.Millisecond

// maxGap bounds the sample interval a single quiet period adds to the
// smoothed gap.
const maxGap = time.Second

// End records an attempt's latency. Failed attempts (not service errors)
// count as at least failurePenalty, taken at once as a peak and as the
// floor, so a failing server is avoided until it answers again.
func (s *p2cSelector) End(server string, rtt time.Duration, err error) {
	sv := s.servers.Load().lookup(server)
	if sv == nil {
		return
	}
	sv.inflight.Add(-1)
	x := rtt.Seconds()
	failed := err != nil && !IsServiceError(err)
	if failed {
		x = max(x, failurePenalty.Seconds())
	}
	now := s.now()
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if !sv.sampled {
		sv.sampled, sv.gap = true, peakRise.Seconds()
		sv.last.Store(int64(now))
		sv.floor.store(x)
		sv.ewma.store(x) // last: Select takes a non-zero estimate as sampled
		return
	}
	dt := now - time.Duration(sv.last.Load())
	sv.gap = 0.9*sv.gap + 0.1*min(dt, maxGap).Seconds()
	decayed := expNeg(float64(dt) / float64(s.decay)) // what is left of the old estimate after dt
	floor, ewma := sv.floor.load(), sv.ewma.load()
	if x < floor || failed {
		floor = x
	} else {
		floor += (x - floor) * (1 - decayed)
	}
	switch {
	case failed && x > ewma:
		ewma = x
	case x > ewma:
		ewma += (x - ewma) * (1 - expNeg(sv.gap/peakRise.Seconds()))
	default:
		w := min(decayed, maxSampleWeight)
		ewma = ewma*w + x*(1-w)
	}
	sv.floor.store(floor)
	sv.ewma.store(ewma)
	sv.last.Store(int64(now))
}
