package reflection

import (
	"encoding/json"
	"reflect"
	"runtime"
	"sort"
	"strings"
)

// ServiceDesc is courier's JSON description of a service, as
// DescribeService returns it: the registered name, the receiver's package
// path, the registration metadata and the methods in name order.
type ServiceDesc struct {
	Name     string        `json:"name"`
	PkgPath  string        `json:"pkgPath"`
	Metadata string        `json:"metadata,omitempty"`
	Methods  []*MethodDesc `json:"methods"`
}

// MethodDesc describes one method in the JSON view. Req and Reply hold Go
// declarations of the argument and reply types (fields with their tags);
// ReqSchema and ReplySchema hold their JSON Schema.
type MethodDesc struct {
	Name        string          `json:"name"`
	ReqName     string          `json:"reqName"`
	Req         string          `json:"req"`
	ReplyName   string          `json:"replyName"`
	Reply       string          `json:"reply"`
	ReqSchema   json.RawMessage `json:"reqSchema,omitempty"`
	ReplySchema json.RawMessage `json:"replySchema,omitempty"`
}

// String renders the service as Go declarations of its types followed by
// its method signatures.
func (d ServiceDesc) String() string {
	var b strings.Builder
	b.WriteString("type " + d.Name + " struct{}\n\n")
	seen := map[string]bool{}
	for _, m := range d.Methods {
		for _, decl := range []string{m.Req, m.Reply} {
			if decl != "" && !seen[decl] {
				seen[decl] = true
				b.WriteString(decl + "\n\n")
			}
		}
	}
	for _, m := range d.Methods {
		b.WriteString("func (s *" + d.Name + ") " + m.Name + "(ctx context.Context, arg *" + m.ReqName +
			", reply *" + m.ReplyName + ") error\n")
	}
	return b.String()
}

// describeReceiver builds the JSON view of a receiver of type typ.
func describeReceiver(name string, typ reflect.Type, metadata string) *ServiceDesc {
	base := typ
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	d := &ServiceDesc{Name: name, PkgPath: base.PkgPath(), Metadata: metadata}
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		if md, ok := describeMethod(m.Name, m.Type, 1); ok {
			d.Methods = append(d.Methods, md)
		}
	}
	sortMethods(d)
	return d
}

func sortMethods(d *ServiceDesc) {
	sort.Slice(d.Methods, func(i, j int) bool { return d.Methods[i].Name < d.Methods[j].Name })
}

// describeMethod returns the description of an RPC method of type mt whose
// context parameter is at index first (1 for methods, 0 for functions).
func describeMethod(name string, mt reflect.Type, first int) (*MethodDesc, bool) {
	if mt.NumIn() != first+3 || mt.NumOut() != 1 || mt.Out(0) != typeOfError || mt.In(first) != typeOfContext {
		return nil, false
	}
	arg, reply := mt.In(first+1), mt.In(first+2)
	if reply.Kind() != reflect.Pointer {
		return nil, false
	}
	return &MethodDesc{
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
