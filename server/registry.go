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

	"github.com/courier-rpc/courier/share"
)

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
	return reflectInvoker(argType, replyType, call), true, nil
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
	return name, s.addMethod(servicePath, &method{name: name, invoke: reflectInvoker(argType, replyType, call)})
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
