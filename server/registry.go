package server

import (
	"context"
	"fmt"
	"go/token"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// invoker runs one method for one request: it decodes the arguments from
// req.Payload with cd, calls the method and returns the encoded reply.
type invoker func(ctx *reqCtx, cd codec.Codec, req *protocol.Message) ([]byte, error)

// method is one callable method: an invoker (registered methods,
// functions, typed handlers) or a Handler (AddHandler).
type method struct {
	name    string
	invoke  invoker
	handler Handler
	// offReader counts calls still to run on pool workers because a call
	// of this method outlived the inline grace period (see runInline).
	offReader atomic.Int32
}

// service is a registered name with its methods.
type service struct {
	name    string
	rcvr    interface{} // nil for function-only services
	methods map[string]*method
}

// registry is an immutable snapshot of the callable methods. Registration
// copies it and swaps the pointer, so lookups take no lock.
type registry struct {
	services map[string]*service
	router   map[string]map[string]*method // AddHandler / UpdateHandler
}

var emptyRegistry = &registry{}

func (r *registry) clone() *registry {
	c := &registry{services: make(map[string]*service, len(r.services)+1), router: r.router}
	for k, v := range r.services {
		c.services[k] = v
	}
	return c
}

// lookup returns the method of path and name, or nil.
func (r *registry) lookup(path, name string) *method {
	if ms, ok := r.router[path]; ok {
		if m, ok := ms[name]; ok {
			return m
		}
	}
	if svc, ok := r.services[path]; ok {
		return svc.methods[name]
	}
	return nil
}

// find returns the method for path and name, or an error with rpcx's text.
func (r *registry) find(path, name string) (*method, error) {
	if m := r.lookup(path, name); m != nil {
		return m, nil
	}
	if _, ok := r.services[path]; !ok {
		return nil, withCode(share.CodeUnimplemented, strErr("rpcx: can't find service "+path))
	}
	return nil, withCode(share.CodeUnimplemented, strErr("rpcx: can't find method "+name))
}

type strErr string

func (e strErr) Error() string { return string(e) }

var (
	typeOfError   = reflect.TypeFor[error]()
	typeOfContext = reflect.TypeFor[context.Context]()
)

func (s *Server) loadRegistry() *registry {
	if r := s.reg.Load(); r != nil {
		return r
	}
	return emptyRegistry
}

// Register publishes the exported methods of rcvr that have the shape
//
//	func (t *T) Method(ctx context.Context, args *Args, reply *Reply) error
//
// under the name of rcvr's type. args may be a pointer or not; reply must
// be a pointer; Args and Reply must be exported or builtin. Exported methods
// of another shape (not three parameters after the receiver, or the first
// not context.Context) are skipped and cannot be called. A method whose
// first parameter is context.Context but is otherwise malformed is refused
// with an error naming it, as is a type without RPC methods or a name
// already registered. After registering, Register runs the RegisterPlugin hooks
// and returns their errors (the service stays registered). It is safe for
// concurrent use.
func (s *Server) Register(rcvr interface{}, metadata string) error {
	name, err := s.register(rcvr, "", false)
	if err != nil {
		return err
	}
	return s.Plugins.DoRegister(name, rcvr, metadata)
}

// RegisterName is like Register but publishes the methods under name,
// which need not be exported.
func (s *Server) RegisterName(name string, rcvr interface{}, metadata string) error {
	if _, err := s.register(rcvr, name, true); err != nil {
		return err
	}
	return s.Plugins.DoRegister(name, rcvr, metadata)
}

func (s *Server) register(rcvr interface{}, name string, useName bool) (string, error) {
	if rcvr == nil {
		return "", fmt.Errorf("%w: nil receiver", ErrBadRegistration)
	}
	typ := reflect.TypeOf(rcvr)
	val := reflect.ValueOf(rcvr)
	if !useName {
		name = reflect.Indirect(val).Type().Name()
		if name == "" {
			return "", fmt.Errorf("%w: no service name for type %s", ErrBadRegistration, typ)
		}
		if !token.IsExported(name) {
			return "", fmt.Errorf("%w: type %s is not exported", ErrBadRegistration, name)
		}
	}
	if name == "" {
		return "", fmt.Errorf("%w: empty service name for type %s", ErrBadRegistration, typ)
	}
	methods := make(map[string]*method)
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if !m.IsExported() {
			continue
		}
		inv, ok, err := methodInvoker(name, m.Name, m.Func, m.Type, val)
		if err != nil {
			return "", err
		}
		if ok {
			methods[m.Name] = &method{name: m.Name, invoke: inv}
		}
	}
	if len(methods) == 0 {
		return "", fmt.Errorf("%w: type %s has no exported methods of suitable type", ErrBadRegistration, typ)
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	old := s.loadRegistry()
	if _, dup := old.services[name]; dup {
		return "", fmt.Errorf("%w: service %s is already registered", ErrBadRegistration, name)
	}
	r := old.clone()
	r.services[name] = &service{name: name, rcvr: rcvr, methods: methods}
	s.reg.Store(r)
	return name, nil
}

// methodInvoker checks the shape of a method (mt includes the receiver as
// its first parameter) and builds its invoker. ok is false for methods
// that are not RPC methods at all.
func methodInvoker(svc, name string, fn reflect.Value, mt reflect.Type, rcvr reflect.Value) (inv invoker, ok bool, err error) {
	if mt.NumIn() != 4 || mt.In(1) != typeOfContext {
		return nil, false, nil
	}
	argType, replyType, err := checkSignature(svc+"."+name, mt.In(2), mt.In(3), mt)
	if err != nil {
		return nil, false, err
	}
	call := directMethodCall(name, fn, rcvr, argType)
	if call == nil {
		call = reflectCall(fn, rcvr, argType)
	}
	return argsInvoker(argType, replyType, call), true, nil
}

func checkSignature(what string, argType, replyType, mt reflect.Type) (reflect.Type, reflect.Type, error) {
	if !exportedOrBuiltin(argType) {
		return nil, nil, fmt.Errorf("%w: method %s: argument type %s is not exported", ErrBadRegistration, what, argType)
	}
	if replyType.Kind() != reflect.Pointer {
		return nil, nil, fmt.Errorf("%w: method %s: reply type %s is not a pointer", ErrBadRegistration, what, replyType)
	}
	if !exportedOrBuiltin(replyType) {
		return nil, nil, fmt.Errorf("%w: method %s: reply type %s is not exported", ErrBadRegistration, what, replyType)
	}
	if mt.NumOut() != 1 || mt.Out(0) != typeOfError {
		return nil, nil, fmt.Errorf("%w: method %s: must return exactly one value of type error", ErrBadRegistration, what)
	}
	return argType, replyType, nil
}

func exportedOrBuiltin(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return token.IsExported(t.Name()) || t.PkgPath() == ""
}

// methodCall calls a registered method or function with argv (a pointer
// to the decoded arguments, dereferenced here for methods taking their
// arguments by value) and replyv (a pointer to a fresh reply).
type methodCall func(ctx *reqCtx, argv, replyv reflect.Value) error

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
		if ctx.self == nil {
			ctx.self = ctx
		}
		in[n], in[n+1], in[n+2] = reflect.ValueOf(&ctx.self).Elem(), a, replyv
		out := fn.Call(in[:n+3])
		err, _ := out[0].Interface().(error)
		return err
	}
}

// argsInvoker builds the invoker of a method or function found by
// reflection: per call it allocates the arguments and the reply, decodes
// the payload, runs the PreCall/PostCall hooks around call and encodes the
// reply. The types are resolved here, once.
func argsInvoker(argType, replyType reflect.Type, call methodCall) invoker {
	argElem := argType
	if argType.Kind() == reflect.Pointer {
		argElem = argType.Elem()
	}
	replyElem := replyType.Elem()
	argPool, replyPool := newValuePool(argElem), newValuePool(replyElem)
	return func(ctx *reqCtx, cd codec.Codec, req *protocol.Message) ([]byte, error) {
		s := ctx.s
		argv := argPool.get(s, argElem)
		if len(req.Payload) > 0 {
			if err := cd.Decode(req.Payload, argv.Interface()); err != nil {
				argPool.put(s, argv)
				return nil, withCode(share.CodeInvalidArgument, err)
			}
		}
		replyv := replyPool.get(s, replyElem)
		callArgv := argv
		if ctx.callPlugins {
			args, err := s.Plugins.DoPreCall(ctx, req.ServicePath, req.ServiceMethod, argv.Interface())
			if err != nil {
				argPool.put(s, argv)
				replyPool.put(s, replyv)
				return nil, err
			}
			if v := reflect.ValueOf(args); !v.IsValid() || v.Type() != argv.Type() {
				return nil, withCode(share.CodeInternal, fmt.Errorf("server: PreCall returned args of type %T, want %s", args, argv.Type()))
			} else {
				callArgv = v
			}
		}
		err := call(ctx, callArgv, replyv)
		ours := replyv.Interface()
		reply := ours
		if ctx.callPlugins {
			var perr error
			if reply, perr = s.Plugins.DoPostCall(ctx, req.ServicePath, req.ServiceMethod, callArgv.Interface(), reply, err); perr != nil {
				err = perr
			}
		}
		if callArgv.UnsafePointer() == argv.UnsafePointer() { // not replaced by a plugin
			argPool.put(s, argv)
		}
		payload, reusable, err := replyPayload(ctx, cd, reply, err)
		if reusable && reply == ours {
			replyPool.put(s, replyv)
		}
		return payload, err
	}
}

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

// RegisterFunction publishes fn, of shape
//
//	func(ctx context.Context, args *Args, reply *Reply) error
//
// as method servicePath.Name, where Name is fn's Go name (for a function
// mul in package main: "mul"). Functions may be added to any service path;
// a name already taken in that path is refused. It then runs the
// RegisterFunctionPlugin hooks and returns their errors.
func (s *Server) RegisterFunction(servicePath string, fn interface{}, metadata string) error {
	fname, err := s.registerFunction(servicePath, "", fn)
	if err != nil {
		return err
	}
	return s.Plugins.DoRegisterFunction(servicePath, fname, fn, metadata)
}

// RegisterFunctionName is like RegisterFunction with the method name given.
func (s *Server) RegisterFunctionName(servicePath string, name string, fn interface{}, metadata string) error {
	if _, err := s.registerFunction(servicePath, name, fn); err != nil {
		return err
	}
	return s.Plugins.DoRegisterFunction(servicePath, name, fn, metadata)
}

func (s *Server) registerFunction(servicePath, name string, fn interface{}) (string, error) {
	f := reflect.ValueOf(fn)
	if fn == nil || f.Kind() != reflect.Func || f.IsNil() {
		return "", fmt.Errorf("%w: %T is not a function", ErrBadRegistration, fn)
	}
	if name == "" {
		name = funcName(f)
	}
	if name == "" {
		return "", fmt.Errorf("%w: function of type %s has no name", ErrBadRegistration, f.Type())
	}
	ft := f.Type()
	what := servicePath + "." + name
	if ft.NumIn() != 3 || ft.In(0) != typeOfContext {
		return "", fmt.Errorf("%w: function %s: want func(context.Context, args, *reply) error, have %s", ErrBadRegistration, what, ft)
	}
	argType, replyType, err := checkSignature(what, ft.In(1), ft.In(2), ft)
	if err != nil {
		return "", err
	}
	call := directFuncCall(f, argType)
	if call == nil {
		call = reflectCall(f, reflect.Value{}, argType)
	}
	return name, s.addMethod(servicePath, &method{name: name, invoke: argsInvoker(argType, replyType, call)})
}

// funcName returns the last element of a function's Go name.
func funcName(f reflect.Value) string {
	rf := runtime.FuncForPC(f.Pointer())
	if rf == nil {
		return ""
	}
	n := rf.Name()
	if i := strings.LastIndex(n, "."); i >= 0 {
		n = n[i+1:]
	}
	return strings.TrimSuffix(n, "-fm")
}

// addMethod adds m to the service servicePath, creating it if needed.
func (s *Server) addMethod(servicePath string, m *method) error {
	if servicePath == "" || m.name == "" {
		return fmt.Errorf("%w: empty service path or method name", ErrBadRegistration)
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	r := s.loadRegistry().clone()
	old := r.services[servicePath]
	svc := &service{name: servicePath, methods: make(map[string]*method)}
	if old != nil {
		if _, dup := old.methods[m.name]; dup {
			return fmt.Errorf("%w: method %s.%s is already registered", ErrBadRegistration, servicePath, m.name)
		}
		svc.rcvr = old.rcvr
		for k, v := range old.methods {
			svc.methods[k] = v
		}
	}
	svc.methods[m.name] = m
	r.services[servicePath] = svc
	s.reg.Store(r)
	return nil
}

// Handle publishes fn as servicePath.serviceMethod with no reflection per
// call: the argument is decoded into a new Req, fn fills a new Res, and the
// Res is encoded with the request's codec. A wrong fn signature fails to
// compile; a name already taken in servicePath is refused. PreCall and
// PostCall plugins run around fn (a PreCall that returns args of another
// type than *Req fails the call).
func Handle[Req, Res any](s *Server, servicePath, serviceMethod string, fn func(ctx context.Context, req *Req, res *Res) error) error {
	if fn == nil {
		return fmt.Errorf("%w: nil handler for %s.%s", ErrBadRegistration, servicePath, serviceMethod)
	}
	argPool, resPool := newTypedPool[Req](), newTypedPool[Res]()
	inv := func(ctx *reqCtx, cd codec.Codec, req *protocol.Message) ([]byte, error) {
		s := ctx.s
		args := argPool.get(s)
		if len(req.Payload) > 0 {
			if err := cd.Decode(req.Payload, args); err != nil {
				argPool.put(s, args)
				return nil, withCode(share.CodeInvalidArgument, err)
			}
		}
		res := resPool.get(s)
		callArgs := args
		if ctx.callPlugins {
			a, err := s.Plugins.DoPreCall(ctx, req.ServicePath, req.ServiceMethod, args)
			if err != nil {
				argPool.put(s, args)
				resPool.put(s, res)
				return nil, err
			}
			if callArgs, _ = a.(*Req); callArgs == nil {
				return nil, withCode(share.CodeInternal, fmt.Errorf("server: PreCall returned args of type %T, want %T", a, args))
			}
		}
		err := fn(ctx, callArgs, res)
		var reply interface{} = res
		if ctx.callPlugins {
			var perr error
			if reply, perr = s.Plugins.DoPostCall(ctx, req.ServicePath, req.ServiceMethod, callArgs, res, err); perr != nil {
				err = perr
			}
		}
		if callArgs == args { // not replaced by a plugin
			argPool.put(s, args)
		}
		payload, reusable, err := replyPayload(ctx, cd, reply, err)
		if r, ok := reply.(*Res); ok && r == res && reusable {
			resPool.put(s, res)
		}
		return payload, err
	}
	return s.addMethod(servicePath, &method{name: serviceMethod, invoke: inv})
}

// HandleFunc is like Handle for functions that return their reply.
func HandleFunc[Req, Res any](s *Server, servicePath, serviceMethod string, fn func(ctx context.Context, req *Req) (*Res, error)) error {
	if fn == nil {
		return fmt.Errorf("%w: nil handler for %s.%s", ErrBadRegistration, servicePath, serviceMethod)
	}
	return Handle(s, servicePath, serviceMethod, func(ctx context.Context, req *Req, res *Res) error {
		r, err := fn(ctx, req)
		if err == nil && r != nil {
			*res = *r
		}
		return err
	})
}

// AddHandler routes servicePath.serviceMethod to handler, which reads the
// request and writes the response through its *Context. Handlers take
// precedence over registered services; adding one for a route that has
// one replaces it. It is safe for concurrent use.
func (s *Server) AddHandler(servicePath, serviceMethod string, handler func(*Context) error) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	r := s.loadRegistry().clone()
	router := make(map[string]map[string]*method, len(r.router)+1)
	for k, v := range r.router {
		router[k] = v
	}
	ms := make(map[string]*method, len(router[servicePath])+1)
	for k, v := range router[servicePath] {
		ms[k] = v
	}
	ms[serviceMethod] = &method{name: serviceMethod, handler: handler}
	router[servicePath] = ms
	r.router = router
	s.reg.Store(r)
}

// UpdateHandler replaces all handlers added with AddHandler by router,
// whose keys are "servicePath.serviceMethod" (split at the last dot).
func (s *Server) UpdateHandler(router map[string]Handler) {
	rt := make(map[string]map[string]*method, len(router))
	for key, h := range router {
		i := strings.LastIndex(key, ".")
		if i < 0 {
			continue
		}
		path, name := key[:i], key[i+1:]
		if rt[path] == nil {
			rt[path] = make(map[string]*method)
		}
		rt[path][name] = &method{name: name, handler: h}
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	r := s.loadRegistry().clone()
	r.router = rt
	s.reg.Store(r)
}

// UnregisterAll removes every registered service (handlers added with
// AddHandler stay) and runs the RegisterPlugin hooks' Unregister for each; it
// returns their errors.
func (s *Server) UnregisterAll() error {
	s.regMu.Lock()
	old := s.loadRegistry()
	r := &registry{services: map[string]*service{}, router: old.router}
	s.reg.Store(r)
	s.regMu.Unlock()
	names := make([]string, 0, len(old.services))
	for k := range old.services {
		names = append(names, k)
	}
	sort.Strings(names)
	var es []error
	for _, n := range names {
		if err := s.Plugins.DoUnregister(n); err != nil {
			es = append(es, err)
		}
	}
	return multi(es)
}

// ListServices returns the names of the registered services, sorted.
func (s *Server) ListServices() []string {
	r := s.loadRegistry()
	names := make([]string, 0, len(r.services))
	for k := range r.services {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
