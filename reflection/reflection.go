// Package reflection lets a running server describe its services: method
// names and argument and reply types, as Go declarations and as JSON
// Schema, so that a tool (such as `courier describe`) can call them without
// compiled stubs.
//
// Use it as a server plugin and as a service:
//
//	r := reflection.New()
//	s.Plugins.Add(r)         // learns every service registered after this
//	s.RegisterName("Reflection", r, "")
//
// Reflection.GetServices returns the JSON description of all services;
// Reflection.GetService that of one.
package reflection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// ErrNotFound is returned by GetService for an unknown service.
var ErrNotFound = errors.New("reflection: service not found")

var (
	typeOfError   = reflect.TypeOf((*error)(nil)).Elem()
	typeOfContext = reflect.TypeOf((*context.Context)(nil)).Elem()
)

// MethodInfo describes one method. Req and Reply hold Go declarations of
// the argument and reply types; ReqSchema and ReplySchema hold JSON Schema.
type MethodInfo struct {
	Name        string          `json:"name"`
	ReqName     string          `json:"reqName"`
	Req         string          `json:"req"`
	ReplyName   string          `json:"replyName"`
	Reply       string          `json:"reply"`
	ReqSchema   json.RawMessage `json:"reqSchema,omitempty"`
	ReplySchema json.RawMessage `json:"replySchema,omitempty"`
}

// ServiceInfo describes one service.
type ServiceInfo struct {
	Name     string        `json:"name"`
	PkgPath  string        `json:"pkgPath"`
	Metadata string        `json:"metadata,omitempty"`
	Methods  []*MethodInfo `json:"methods"`
}

// String renders the service as a Go declaration of its types and methods.
func (si ServiceInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "type %s struct{}\n\n", si.Name)
	seen := map[string]bool{}
	for _, m := range si.Methods {
		for _, decl := range []string{m.Req, m.Reply} {
			if decl != "" && !seen[decl] {
				seen[decl] = true
				b.WriteString(decl)
				b.WriteString("\n\n")
			}
		}
	}
	for _, m := range si.Methods {
		fmt.Fprintf(&b, "func (s *%s) %s(ctx context.Context, arg *%s, reply *%s) error\n", si.Name, m.Name, m.ReqName, m.ReplyName)
	}
	return b.String()
}

// Reflection collects service descriptions. It is a server plugin
// (Register, RegisterFunction, Unregister) and a service (GetService,
// GetServices). It is safe for concurrent use.
type Reflection struct {
	// Services maps service names to descriptions. Read it only while no
	// registration runs, or use GetServices.
	Services map[string]*ServiceInfo
	mu       sync.RWMutex
}

// New returns an empty Reflection.
func New() *Reflection { return &Reflection{Services: map[string]*ServiceInfo{}} }

// Register describes the RPC methods of rcvr under name.
func (r *Reflection) Register(name string, rcvr interface{}, metadata string) error {
	typ := reflect.TypeOf(rcvr)
	if typ == nil {
		return fmt.Errorf("reflection: nil receiver for %q", name)
	}
	base := typ
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	si := &ServiceInfo{Name: name, PkgPath: base.PkgPath(), Metadata: metadata}
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		if mi, ok := describe(m.Name, m.Type, 1); ok {
			si.Methods = append(si.Methods, mi)
		}
	}
	r.put(si)
	return nil
}

// RegisterFunction adds the function fn as method fname of serviceName.
func (r *Reflection) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	typ := reflect.TypeOf(fn)
	if typ == nil || typ.Kind() != reflect.Func {
		return fmt.Errorf("reflection: %s.%s is not a function", serviceName, fname)
	}
	if fname == "" {
		fname = funcName(fn)
	}
	mi, ok := describe(fname, typ, 0)
	if !ok {
		return fmt.Errorf("reflection: %s.%s does not have an RPC signature", serviceName, fname)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	si := r.Services[serviceName]
	if si == nil {
		si = &ServiceInfo{Name: serviceName, Metadata: metadata}
		r.Services[serviceName] = si
	}
	si.Methods = append(si.Methods, mi)
	sortMethods(si)
	return nil
}

// Unregister forgets a service.
func (r *Reflection) Unregister(name string) error {
	r.mu.Lock()
	delete(r.Services, name)
	r.mu.Unlock()
	return nil
}

// GetService sets reply to the JSON description of service s.
func (r *Reflection) GetService(ctx context.Context, s string, reply *string) error {
	r.mu.RLock()
	si, ok := r.Services[s]
	var data []byte
	var err error
	if ok {
		data, err = json.Marshal(si)
	}
	r.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, s)
	}
	*reply = string(data)
	return err
}

// GetServices sets reply to the JSON array of all service descriptions,
// sorted by name. The argument is ignored.
func (r *Reflection) GetServices(ctx context.Context, s string, reply *string) error {
	r.mu.RLock()
	list := make([]*ServiceInfo, 0, len(r.Services))
	for _, si := range r.Services {
		list = append(list, si)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	data, err := json.Marshal(list)
	r.mu.RUnlock()
	*reply = string(data)
	return err
}

func (r *Reflection) put(si *ServiceInfo) {
	sortMethods(si)
	r.mu.Lock()
	r.Services[si.Name] = si
	r.mu.Unlock()
}

func sortMethods(si *ServiceInfo) {
	sort.Slice(si.Methods, func(i, j int) bool { return si.Methods[i].Name < si.Methods[j].Name })
}

// describe returns the description of an RPC method of type mt whose
// context parameter is at index first (1 for methods, 0 for functions).
func describe(name string, mt reflect.Type, first int) (*MethodInfo, bool) {
	if mt.NumIn() != first+3 || mt.NumOut() != 1 || mt.Out(0) != typeOfError || mt.In(first) != typeOfContext {
		return nil, false
	}
	arg, reply := mt.In(first+1), mt.In(first+2)
	if reply.Kind() != reflect.Pointer {
		return nil, false
	}
	return &MethodInfo{
		Name:        name,
		ReqName:     typeName(arg),
		Req:         goDecl(arg),
		ReplyName:   typeName(reply),
		Reply:       goDecl(reply),
		ReqSchema:   mustJSON(Schema(arg)),
		ReplySchema: mustJSON(Schema(reply)),
	}, true
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

func funcName(fn interface{}) string {
	full := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	if i := strings.LastIndex(full, "."); i >= 0 {
		return full[i+1:]
	}
	return full
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
