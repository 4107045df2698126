// Package reflection lets a running server describe its services.
//
// Use it as a server plugin and as a service:
//
//	r := reflection.New()
//	s.Plugins.Add(r)         // learns every service registered after this
//	s.RegisterName("Reflection", r, "")
//
// Two views are served. Reflection.GetService and GetServices return rpcx's
// Go-like text (a package clause, the argument and reply types inferred
// from the JSON of their zero values, and each method with an empty body),
// identical to rpcx's reflection output for the same service, so that
// programs written for rpcx print or parse the same text. Only services
// registered with a receiver appear there, as in rpcx.
//
// Reflection.DescribeService and DescribeServices return courier's JSON
// description (ServiceDesc): method names, Go declarations of the argument
// and reply types with their tags, and their JSON Schema. Functions
// registered with RegisterFunction appear there too. `courier list` and
// `courier describe` use this view.
package reflection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
)

// ErrNotFound is returned by GetService and DescribeService for an unknown
// service.
var ErrNotFound = errors.New("reflection: service not found")

var (
	typeOfError   = reflect.TypeOf((*error)(nil)).Elem()
	typeOfContext = reflect.TypeOf((*context.Context)(nil)).Elem()
)

// Reflection collects service descriptions. It is a server plugin
// (Register, RegisterFunction, Unregister) and a service (GetService,
// GetServices, DescribeService, DescribeServices). It is safe for
// concurrent use.
type Reflection struct {
	// Services maps registered service names to rpcx's descriptions of
	// the services registered with a receiver that has at least one RPC
	// method, as rpcx's field does. Read it only while no registration
	// runs.
	Services map[string]*ServiceInfo

	mu    sync.RWMutex
	descs map[string]*ServiceDesc // JSON view, guarded by mu
}

// New returns an empty Reflection.
func New() *Reflection {
	return &Reflection{Services: map[string]*ServiceInfo{}, descs: map[string]*ServiceDesc{}}
}

// Register describes the RPC methods of rcvr under name. It fails only for
// a nil receiver.
func (r *Reflection) Register(name string, rcvr interface{}, metadata string) error {
	typ := reflect.TypeOf(rcvr)
	if typ == nil {
		return fmt.Errorf("reflection: nil receiver for %q", name)
	}
	d := describeReceiver(name, typ, metadata)
	si, ok := textInfo(rcvr)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.descs[name] = d
	if ok {
		r.Services[name] = si
	}
	return nil
}

// RegisterFunction adds the function fn as method fname of serviceName to
// the JSON view (rpcx's text view describes receivers only). It fails when
// fn does not have an RPC function's signature.
func (r *Reflection) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	typ := reflect.TypeOf(fn)
	if typ == nil || typ.Kind() != reflect.Func {
		return fmt.Errorf("reflection: %s.%s is not a function", serviceName, fname)
	}
	if fname == "" {
		fname = funcName(fn)
	}
	md, ok := describeMethod(fname, typ, 0)
	if !ok {
		return fmt.Errorf("reflection: %s.%s does not have an RPC signature", serviceName, fname)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.descs[serviceName]
	if d == nil {
		d = &ServiceDesc{Name: serviceName, Metadata: metadata}
		r.descs[serviceName] = d
	}
	d.Methods = append(d.Methods, md)
	sortMethods(d)
	return nil
}

// Unregister forgets a service. It never fails.
func (r *Reflection) Unregister(name string) error {
	r.mu.Lock()
	delete(r.Services, name)
	delete(r.descs, name)
	r.mu.Unlock()
	return nil
}

// GetService sets reply to rpcx's text for service s (see ServiceInfo.String).
// It returns an error wrapping ErrNotFound when s has no receiver registered.
func (r *Reflection) GetService(ctx context.Context, s string, reply *string) error {
	r.mu.RLock()
	si, ok := r.Services[s]
	r.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, s)
	}
	*reply = si.String()
	return nil
}

// GetServices sets reply to rpcx's text for all services, in name order,
// under one package clause (empty when no service is registered). The
// argument is ignored.
func (r *Reflection) GetServices(ctx context.Context, _ string, reply *string) error {
	r.mu.RLock()
	names := make([]string, 0, len(r.Services))
	for name := range r.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	list := make([]*ServiceInfo, len(names))
	for i, name := range names {
		list[i] = r.Services[name]
	}
	r.mu.RUnlock()
	*reply = joinServices(list)
	return nil
}

// DescribeService sets reply to the JSON object (a ServiceDesc) describing
// service s. It returns an error wrapping ErrNotFound for an unknown service.
func (r *Reflection) DescribeService(ctx context.Context, s string, reply *string) error {
	r.mu.RLock()
	d, ok := r.descs[s]
	var data []byte
	var err error
	if ok {
		data, err = json.Marshal(d)
	}
	r.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, s)
	}
	*reply = string(data)
	return err
}

// DescribeServices sets reply to the JSON array of all service
// descriptions (ServiceDesc), sorted by name. The argument is ignored.
func (r *Reflection) DescribeServices(ctx context.Context, _ string, reply *string) error {
	r.mu.RLock()
	list := make([]*ServiceDesc, 0, len(r.descs))
	for _, d := range r.descs {
		list = append(list, d)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	data, err := json.Marshal(list)
	r.mu.RUnlock()
	*reply = string(data)
	return err
}
