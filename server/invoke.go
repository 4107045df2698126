package server

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Invoking a method.
//
// Every registered method, whether found by reflection (Register,
// RegisterFunction) or typed (Handle, HandleFunc), runs one sequence,
// invokeCall: take argument and reply values, decode the payload into the
// arguments, run the PreCall hooks, call, run the PostCall hooks, give the
// values back for reuse and encode the reply. What differs between the two
// kinds is only how values are made and how the method is called
// (callValues): reflectValues holds reflect.Values and calls through
// methodCall, typedValues holds *Req and *Res and calls the function.

// invoker runs one method for one request: it decodes the arguments from
// req.Payload with cd, calls the method and returns the encoded reply.
type invoker func(ctx *reqCtx, cd codec.Codec, req *protocol.Message) ([]byte, error)

// callValues makes, shows and calls the argument and reply values of one
// method: A is the handle of an argument value, R of a reply value. Its
// methods are called for every request and must be safe for concurrent
// use.
type callValues[A, R any] interface {
	// newArgs and newReply return zero values (reused when the type has
	// a Reset method, see values.go); freeArgs and freeReply give back a
	// value that went through the call untouched.
	newArgs(s *Server) A
	freeArgs(s *Server, a A)
	newReply(s *Server) R
	freeReply(s *Server, r R)
	// argsAny and replyAny return the value as the codec and the plugins
	// see it: a pointer.
	argsAny(a A) any
	replyAny(r R) any
	// preCallArgs converts the arguments a PreCall hook returned, or fails
	// when they are not of the method's argument type.
	preCallArgs(x any) (A, error)
	// sameArgs reports whether a and b are the same value.
	sameArgs(a, b A) bool
	// call runs the method.
	call(ctx *reqCtx, a A, r R) error
}

// invokeCall runs the one invoke sequence of a method with values v.
func invokeCall[A, R any, V callValues[A, R]](v V, ctx *reqCtx, cd codec.Codec, req *protocol.Message) ([]byte, error) {
	s := ctx.src.s
	args := v.newArgs(s)
	if len(req.Payload) > 0 {
		if err := cd.Decode(req.Payload, v.argsAny(args)); err != nil {
			v.freeArgs(s, args)
			return nil, withCode(share.CodeInvalidArgument, err)
		}
	}
	res := v.newReply(s)
	callArgs := args
	if ctx.callPlugins {
		a, err := s.Plugins.DoPreCall(ctx, req.ServicePath, req.ServiceMethod, v.argsAny(args))
		if err == nil {
			callArgs, err = v.preCallArgs(a)
		}
		if err != nil {
			v.freeArgs(s, args)
			v.freeReply(s, res)
			return nil, err
		}
	}
	err := v.call(ctx, callArgs, res)
	ours := v.replyAny(res)
	reply := ours
	if ctx.callPlugins {
		var perr error
		if reply, perr = s.Plugins.DoPostCall(ctx, req.ServicePath, req.ServiceMethod, v.argsAny(callArgs), reply, err); perr != nil {
			err = perr
		}
	}
	if v.sameArgs(callArgs, args) { // not replaced by a plugin
		v.freeArgs(s, args)
	}
	payload, reusable, err := replyPayload(ctx, cd, reply, err)
	if reusable && reply == ours { // ours is a pointer: comparing never panics
		v.freeReply(s, res)
	}
	return payload, err
}

// methodCall calls a registered method or function with argv (a pointer
// to the decoded arguments, dereferenced here for methods taking their
// arguments by value) and replyv (a pointer to a fresh reply).
type methodCall func(ctx *reqCtx, argv, replyv reflect.Value) error

// ctxSlots hold a request's ctx as a context.Context while reflectCall
// calls with it, so that reflect.Value.Call gets an argument of the exact
// parameter type (no per-call method-set check, no allocation). Call
// copies the argument: the slot is free again when it returns.
var ctxSlots = sync.Pool{New: func() any { return new(context.Context) }}

// reflectCall calls fn through reflect.Value.Call; rcvr is invalid for
// functions. It serves every shape directMethodCall cannot.
func reflectCall(fn, rcvr reflect.Value, argType reflect.Type) methodCall {
	argIsPtr := argType.Kind() == reflect.Pointer
	hasRcvr := rcvr.IsValid()
	return func(ctx *reqCtx, argv, replyv reflect.Value) error {
		a := argv
		if !argIsPtr {
			a = argv.Elem()
		}
		var in [4]reflect.Value
		n := 0
		if hasRcvr {
			in[0] = rcvr
			n = 1
		}
		slot := ctxSlots.Get().(*context.Context)
		*slot = ctx
		in[n], in[n+1], in[n+2] = reflect.ValueOf(slot).Elem(), a, replyv
		out := fn.Call(in[:n+3])
		*slot = nil
		ctxSlots.Put(slot)
		err, _ := out[0].Interface().(error)
		return err
	}
}

// reflectValues are the callValues of a method or function found by
// reflection; its types are resolved at registration.
type reflectValues struct {
	argElem, replyElem reflect.Type // what the arguments and reply point to
	argPtr             reflect.Type // *argElem
	argPool, replyPool *valuePool
	fn                 methodCall
}

// reflectInvoker builds the invoker of a method or function found by
// reflection, whose arguments are of type argType (a pointer or not) and
// reply of replyType (a pointer), called with call.
func reflectInvoker(argType, replyType reflect.Type, call methodCall) invoker {
	argElem := argType
	if argType.Kind() == reflect.Pointer {
		argElem = argType.Elem()
	}
	v := &reflectValues{
		argElem:   argElem,
		replyElem: replyType.Elem(),
		argPtr:    reflect.PointerTo(argElem),
		argPool:   newValuePool(argElem),
		replyPool: newValuePool(replyType.Elem()),
		fn:        call,
	}
	return func(ctx *reqCtx, cd codec.Codec, req *protocol.Message) ([]byte, error) {
		return invokeCall[reflect.Value, reflect.Value](v, ctx, cd, req)
	}
}

func (v *reflectValues) newArgs(s *Server) reflect.Value { return v.argPool.get(s, v.argElem) }

func (v *reflectValues) freeArgs(s *Server, a reflect.Value) { v.argPool.put(s, a) }

func (v *reflectValues) newReply(s *Server) reflect.Value { return v.replyPool.get(s, v.replyElem) }

func (v *reflectValues) freeReply(s *Server, r reflect.Value) { v.replyPool.put(s, r) }

func (v *reflectValues) argsAny(a reflect.Value) any { return a.Interface() }

func (v *reflectValues) replyAny(r reflect.Value) any { return r.Interface() }

func (v *reflectValues) preCallArgs(x any) (reflect.Value, error) {
	a := reflect.ValueOf(x)
	if !a.IsValid() || a.Type() != v.argPtr {
		return reflect.Value{}, withCode(share.CodeInternal, fmt.Errorf("server: PreCall returned args of type %T, want %s", x, v.argPtr))
	}
	return a, nil
}

func (v *reflectValues) sameArgs(a, b reflect.Value) bool {
	return a.UnsafePointer() == b.UnsafePointer()
}

func (v *reflectValues) call(ctx *reqCtx, a, r reflect.Value) error { return v.fn(ctx, a, r) }

// replyPayload encodes the reply of a call that returned err (nothing when
// err is set). reusable reports that the payload shares no memory with
// reply, so that reply may be reset and reused before the payload is
// written.
func replyPayload(ctx *reqCtx, cd codec.Codec, reply interface{}, err error) (payload []byte, reusable bool, _ error) {
	if err != nil {
		return nil, true, err
	}
	return encodeReply(ctx, cd, reply)
}

// encodeReply encodes a method's reply. For an rpcx-protocol call it goes
// into the buffer of the pooled response, which the response keeps once
// freed. The result is owned (shares no memory with reply) when the codec
// is a codec.Appender; only then is there no allocation per call.
func encodeReply(ctx *reqCtx, cd codec.Codec, reply interface{}) (payload []byte, owned bool, err error) {
	var dst []byte
	if ctx.res != nil {
		dst = ctx.res.PayloadBuffer()
	}
	b, owned, err := codec.AppendEncode(cd, dst, reply)
	if err != nil {
		return nil, false, withCode(share.CodeInternal, fmt.Errorf("server: encode reply: %w", err))
	}
	if owned && ctx.res != nil {
		ctx.res.SetPayloadBuffer(b)
	}
	return b, owned, nil
}
