package server

import (
	"reflect"
	"sync"
)

// Reused argument and reply values.
//
// As rpcx does, a method's argument and reply values whose pointer type has
// a Reset method (protobuf messages, and any type that opts in by declaring
// one) are reset and kept for later calls of that method instead of being
// allocated per call; for the 581-byte protobuf message of the benchmarks
// that is half of the bytes the server allocates per call, and so half of
// its garbage collection. A handler must therefore not keep its args or
// reply (or hand them to a goroutine) past its return: copy what it needs.
// WithValueReuse(false) turns reuse off. A value that a PreCall or PostCall
// plugin replaced is neither reused nor is the replacement: only values
// that went through the call untouched go back. A reply is reused only when
// its encoding cannot share its memory (the codec is a codec.Appender, as
// the JSON, protobuf and MessagePack codecs are): a raw or Thrift-style
// encoding may return the value's own bytes, which are written later.

// Resetter is implemented by types whose values the server may reuse after
// a call (see WithValueReuse): Reset must clear the value completely.
// Generated protobuf messages implement it.
type Resetter interface{ Reset() }

// WithValueReuse sets whether argument and reply values whose type
// implements Resetter are reset and reused after their call (the default,
// as in rpcx). Turn it off when handlers keep their arguments or replies
// after returning.
func WithValueReuse(on bool) OptionFn {
	return func(s *Server) { s.noValueReuse = !on }
}

// valuePool keeps values of one type found by reflection; nil (for types
// without a Reset method) allocates every value.
type valuePool struct {
	pool sync.Pool // of pointers to values, as interface{} (no boxing)
}

var typeOfResetter = reflect.TypeFor[Resetter]()

// newValuePool returns the pool of elem values, or nil when *elem has no
// Reset method.
func newValuePool(elem reflect.Type) *valuePool {
	if !reflect.PointerTo(elem).Implements(typeOfResetter) {
		return nil
	}
	return &valuePool{}
}

// get returns a pointer to a zero elem value (elem: the pool's type, also
// needed when p is nil).
func (p *valuePool) get(s *Server, elem reflect.Type) reflect.Value {
	if p != nil && !s.noValueReuse {
		if x := p.pool.Get(); x != nil {
			return reflect.ValueOf(x)
		}
	}
	return reflect.New(elem)
}

// put resets v, a value from get, and keeps it.
func (p *valuePool) put(s *Server, v reflect.Value) {
	if p == nil || s.noValueReuse {
		return
	}
	x := v.Interface()
	x.(Resetter).Reset()
	p.pool.Put(x)
}

// typedPool is valuePool for the values of typed handlers (Handle).
type typedPool[T any] struct {
	pool sync.Pool // of *T
}

// newTypedPool returns the pool of T values, or nil when *T has no Reset
// method.
func newTypedPool[T any]() *typedPool[T] {
	if _, ok := any(new(T)).(Resetter); !ok {
		return nil
	}
	return &typedPool[T]{}
}

func (p *typedPool[T]) get(s *Server) *T {
	if p != nil && !s.noValueReuse {
		if x, ok := p.pool.Get().(*T); ok {
			return x
		}
	}
	return new(T)
}

func (p *typedPool[T]) put(s *Server, v *T) {
	if p == nil || s.noValueReuse {
		return
	}
	any(v).(Resetter).Reset()
	p.pool.Put(v)
}
