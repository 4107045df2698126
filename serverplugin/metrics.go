package serverplugin

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/protocol"
)

// maxMethodKeys bounds the number of distinct service.method names a
// MetricsPlugin keeps metrics for: request names come from clients, and
// unbounded names would let a client grow the registry without limit.
// Further names are counted under "service.other.other".
const maxMethodKeys = 4096

// Metric names (after the plugin's Prefix). Per method, the name is
// "service." + servicePath + "." + serviceMethod + suffix.
const (
	metricServiceCounter = "serviceCounter" // counter: registered services (rpcx name)
	metricClientMeter    = "clientMeter"    // meter: accepted connections (rpcx name)
	metricConnections    = "connections"    // counter: open connections
	suffixRead           = ".Read_Qps"      // meter: requests read (rpcx name)
	suffixWrite          = ".Write_Qps"     // meter: responses written (rpcx name)
	suffixError          = ".Error_Qps"     // meter: error responses
	suffixCallTime       = ".CallTime"      // histogram: ns from read to response written (rpcx name)
	suffixInFlight       = ".InFlight"      // counter: requests read and not yet answered
	otherMethod          = "other"          // path and method of names past maxMethodKeys
)

// MetricsPlugin records server metrics into a github.com/rcrowley/go-metrics
// registry, each name prefixed with Prefix:
//
//   - serviceCounter (counter): services registered (Register and
//     RegisterFunction add one, Unregister removes one);
//   - clientMeter (meter): connections accepted; connections (counter):
//     connections open;
//   - per method, service.<path>.<method>.Read_Qps (meter): requests read
//     (its Count is the number of calls); .Write_Qps (meter): responses
//     written; .Error_Qps (meter): error responses written; .CallTime
//     (histogram): nanoseconds from handling a request to writing its
//     response; .InFlight (counter): requests being handled and not yet
//     answered.
//
// Heartbeats are not counted; one-way requests are counted as read only.
// Read_Qps is counted under the names a request has when this plugin's
// PostReadRequest sees it (add the plugin after AliasPlugin to count real
// names); the other per-method metrics use the final names. Requests that
// the server answers before handling them (refused by a PostReadRequest
// plugin such as ReqRateLimitingPlugin, or during shutdown) are counted as
// read only: courier's server writes those answers without
// PostWriteResponse. Request names come from clients, so at most 4096
// distinct methods get their own metrics; further names share
// service.other.other. Add the plugin after plugins that refuse
// connections to count only accepted ones.
//
// Exporters: HTTPHandler (JSON), Exp and ExpHandler (expvar), Log,
// Graphite; Stop ends the periodic ones.
//
// Set Registry (nil: a registry of the plugin's own, made on first use) and
// Prefix before the server starts. The plugin is safe for concurrent use.
type MetricsPlugin struct {
	Registry metrics.Registry
	Prefix   string

	once     sync.Once
	registry metrics.Registry
	conns    metrics.Counter
	accepts  metrics.Meter
	services metrics.Counter
	methods  sync.Map // methodKey -> *methodMetrics
	nmethods atomic.Int64
	limit    int64    // distinct methods with own metrics; 0: maxMethodKeys (tests lower it)
	pending  sync.Map // request ctx -> *reqState
	pendingN atomic.Int64

	exportMu sync.Mutex
	stop     chan struct{} // closed by Stop; nil before the first exporter
	wg       sync.WaitGroup
}

// methodKey names a method's metrics.
type methodKey struct{ path, method string }

// methodMetrics are the metrics of one method.
type methodMetrics struct {
	read, write, errors metrics.Meter
	callTime            metrics.Histogram
	inFlight            metrics.Counter
}

// NewMetricsPlugin returns a MetricsPlugin recording into registry (nil: a
// new registry, see MetricsPlugin.Registry).
func NewMetricsPlugin(registry metrics.Registry) *MetricsPlugin {
	p := &MetricsPlugin{Registry: registry}
	p.init()
	return p
}

// init resolves the registry and the server-wide metrics once.
func (p *MetricsPlugin) init() {
	p.once.Do(func() {
		p.registry = p.Registry
		if p.registry == nil {
			p.registry = metrics.NewRegistry()
		}
		p.conns = metrics.GetOrRegisterCounter(p.Prefix+metricConnections, p.registry)
		p.accepts = metrics.GetOrRegisterMeter(p.Prefix+metricClientMeter, p.registry)
		p.services = metrics.GetOrRegisterCounter(p.Prefix+metricServiceCounter, p.registry)
	})
}

// reg returns the registry the plugin records into.
func (p *MetricsPlugin) reg() metrics.Registry {
	p.init()
	return p.registry
}

// method returns the metrics of path.method, creating them on first use.
func (p *MetricsPlugin) method(path, method string) *methodMetrics {
	k := methodKey{path, method}
	if m, ok := p.methods.Load(k); ok {
		return m.(*methodMetrics)
	}
	limit := p.limit
	if limit <= 0 {
		limit = maxMethodKeys
	}
	if p.nmethods.Load() >= limit {
		k = methodKey{otherMethod, otherMethod}
		if m, ok := p.methods.Load(k); ok {
			return m.(*methodMetrics)
		}
	}
	r := p.reg()
	base := p.Prefix + "service." + k.path + "." + k.method
	m := &methodMetrics{
		read:     metrics.GetOrRegisterMeter(base+suffixRead, r),
		write:    metrics.GetOrRegisterMeter(base+suffixWrite, r),
		errors:   metrics.GetOrRegisterMeter(base+suffixError, r),
		callTime: metrics.GetOrRegisterHistogram(base+suffixCallTime, r, metrics.NewExpDecaySample(1028, 0.015)),
		inFlight: metrics.GetOrRegisterCounter(base+suffixInFlight, r),
	}
	actual, loaded := p.methods.LoadOrStore(k, m)
	if !loaded {
		p.nmethods.Add(1)
	}
	return actual.(*methodMetrics)
}

// Register counts a registered service. It implements (with Unregister)
// server.RegisterPlugin and returns nil.
func (p *MetricsPlugin) Register(name string, rcvr interface{}, metadata string) error {
	p.reg()
	p.services.Inc(1)
	return nil
}

// RegisterFunction counts a function registered as a service method. It
// implements server.RegisterFunctionPlugin and returns nil.
func (p *MetricsPlugin) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	p.reg()
	p.services.Inc(1)
	return nil
}

// Unregister uncounts a service. It returns nil.
func (p *MetricsPlugin) Unregister(name string) error {
	p.reg()
	p.services.Dec(1)
	return nil
}

// HandleConnAccept counts an accepted connection and accepts it. It
// implements server.PostConnAcceptPlugin.
func (p *MetricsPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	p.reg()
	p.accepts.Mark(1)
	p.conns.Inc(1)
	return conn, true
}

// HandleConnClose uncounts an open connection and ends the in-flight marks
// of its unanswered requests (their responses are dropped). It implements
// server.PostConnClosePlugin and returns true.
func (p *MetricsPlugin) HandleConnClose(conn net.Conn) bool {
	p.reg()
	p.conns.Dec(1)
	p.forgetConn(conn)
	return true
}

// PreReadRequest does nothing (the server records the read start in the
// request's ctx); it exists for rpcx compatibility and returns nil.
func (p *MetricsPlugin) PreReadRequest(ctx context.Context) error {
	return nil
}

// PostReadRequest counts a request read (Read_Qps), under the names it has
// when this plugin sees it. It ignores failed reads and heartbeats and
// returns nil. It implements server.PostReadRequestPlugin.
func (p *MetricsPlugin) PostReadRequest(ctx context.Context, r *protocol.Message, e error) error {
	if e != nil || r == nil || r.IsHeartbeat() {
		return nil
	}
	p.method(r.ServicePath, r.ServiceMethod).read.Mark(1)
	return nil
}

// PreHandleRequest marks a request that the server is about to handle as in
// flight (InFlight) and starts its call time, under its final names (after
// every PostReadRequest plugin, such as AliasPlugin, ran). One-way requests
// are not marked. It returns nil. It implements server.PreHandleRequestPlugin.
func (p *MetricsPlugin) PreHandleRequest(ctx context.Context, r *protocol.Message) error {
	if r == nil || r.IsOneway() || r.IsHeartbeat() {
		return nil
	}
	m := p.method(r.ServicePath, r.ServiceMethod)
	if p.begin(ctx, m) {
		m.inFlight.Inc(1)
	}
	return nil
}

// PostWriteResponse counts a response written (Write_Qps) and an error
// response (Error_Qps: a response with the error status, or a failed
// write), records the call time and ends the request's in-flight mark. It
// returns nil. It implements server.PostWriteResponsePlugin.
func (p *MetricsPlugin) PostWriteResponse(ctx context.Context, req *protocol.Message, res *protocol.Message, e error) error {
	if req == nil || req.IsHeartbeat() {
		return nil
	}
	m, start, tracked := p.end(ctx, req)
	m.write.Mark(1)
	if e != nil || (res != nil && res.MessageStatusType() == protocol.Error) {
		m.errors.Mark(1)
	}
	if tracked {
		m.inFlight.Dec(1)
	}
	if start > 0 {
		if d := time.Now().UnixNano() - start; d >= 0 && d < int64(30*time.Minute) {
			m.callTime.Update(d)
		}
	}
	return nil
}
