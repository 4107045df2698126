package otelobs

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/share"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// MaxCached bounds each cache of the plugins (methods, addresses): names
// past it are computed per call instead of kept, since a caller may send
// any method name.
const MaxCached = 4096

// numCodes is how many codes a Method caches outcomes for (0 to
// share.CodeOverloaded); rarer codes are computed per call.
const numCodes = int(share.CodeOverloaded) + 1

// Method is what the plugins keep per "Service/Method", so that a call
// builds no name, attribute slice or attribute set. Safe for concurrent
// use; its exported fields are read-only.
type Method struct {
	// Name is "Service/Method": the span name and rpc.method.
	Name string
	// Attrs are the span attributes known at the start of a call:
	// rpc.system.name, rpc.method and the status OK (both spellings),
	// which a failed call overrides at its end (the SDK keeps the last
	// value of a key), so that a successful call sets no attribute after
	// its span started.
	Attrs []attribute.KeyValue
	// Start holds Attrs for Config.StartSpan.
	Start *Attrs

	outcomes [numCodes]atomic.Pointer[Outcome]
}

// Outcome is the attributes of a method's calls ending with one code.
type Outcome struct {
	// Record and Add carry the metric attribute set: rpc.system.name,
	// rpc.method (rpcobs.OtherMethod for code Unimplemented),
	// rpc.response.status_code (both spellings) and, on failure,
	// error.type.
	Record []metric.RecordOption
	Add    []metric.AddOption
	// Span is what a failed call sets on its span: the status (both
	// spellings) and error.type; nil for OK.
	Span []attribute.KeyValue
}

func newMethod(service, method string) *Method {
	name := rpcobs.Method(service, method)
	m := &Method{Name: name, Attrs: []attribute.KeyValue{
		attribute.String(rpcobs.KeySystem, rpcobs.System),
		attribute.String(rpcobs.KeyMethod, name),
		attribute.String(rpcobs.KeyStatusCode, rpcobs.StatusName(share.CodeOK)),
		attribute.String(rpcobs.KeyStatusCodeLegacy, rpcobs.StatusName(share.CodeOK)),
	}}
	m.Start = NewAttrs(m.Attrs)
	return m
}

// Outcome returns the attributes of a call of m ending with code.
func (m *Method) Outcome(code share.Code) *Outcome {
	if int(code) >= numCodes {
		return m.newOutcome(code)
	}
	if o := m.outcomes[code].Load(); o != nil {
		return o
	}
	o := m.newOutcome(code)
	if m.outcomes[code].CompareAndSwap(nil, o) {
		return o
	}
	return m.outcomes[code].Load()
}

func (m *Method) newOutcome(code share.Code) *Outcome {
	name := m.Name
	if code == share.CodeUnimplemented {
		name = rpcobs.OtherMethod
	}
	status := OutcomeAttrs(code)
	kvs := append([]attribute.KeyValue{
		attribute.String(rpcobs.KeySystem, rpcobs.System),
		attribute.String(rpcobs.KeyMethod, name),
	}, status...)
	opt := metric.WithAttributeSet(attribute.NewSet(kvs...))
	o := &Outcome{Record: []metric.RecordOption{opt}, Add: []metric.AddOption{opt}}
	if code != share.CodeOK {
		o.Span = status
	}
	return o
}

// Methods caches a Method per service and method name. The zero value is
// ready; safe for concurrent use. At most MaxCached methods are kept.
type Methods struct {
	m sync.Map // methodKey -> *Method
	n atomic.Int32
}

type methodKey struct{ service, method string }

// Get returns the Method of service and method. The names may alias a
// buffer that is reused after the call: what is kept is a copy.
func (c *Methods) Get(service, method string) *Method {
	if v, ok := c.m.Load(methodKey{service, method}); ok {
		return v.(*Method)
	}
	m := newMethod(service, method)
	if c.n.Load() >= MaxCached {
		return m
	}
	v, loaded := c.m.LoadOrStore(methodKey{strings.Clone(service), strings.Clone(method)}, m)
	if !loaded {
		c.n.Add(1)
	}
	return v.(*Method)
}

// EndSpan ends span (nil: none) with the outcome o of err: on failure it
// overrides the status attributes Method.Attrs set optimistically, adds
// error.type and sets the span status to Error.
func EndSpan(span trace.Span, o *Outcome, err error) {
	if span == nil {
		return
	}
	if !span.IsRecording() { // nothing to record: no status text built
		span.End()
		return
	}
	if o.Span != nil {
		span.SetAttributes(o.Span...)
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
