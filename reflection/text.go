package reflection

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/courier-rpc/courier/log"
	"github.com/twpayne/go-jsonstruct/v3"
)

// ServiceInfo is rpcx's description of a service registered with a
// receiver: Name is the receiver's Go type name, PkgPath the last element
// of its package path (with '-' as '_'), and Methods its RPC methods in
// name order. String renders it as the Go-like text GetService returns.
type ServiceInfo struct {
	Name    string
	PkgPath string
	Methods []*MethodInfo
}

// MethodInfo is rpcx's description of one method: the argument and reply
// type names and their definitions as Go source inferred from the JSON of
// a zero value (numbers as int64, nil slices, maps and pointers as any,
// times as time.Time), as rpcx prints them. A definition is empty when the
// zero value encodes to an empty string.
type MethodInfo struct {
	Name      string
	ReqName   string
	Req       string
	ReplyName string
	Reply     string
}

// String renders the service as rpcx's reflection does: a package clause,
// an empty struct for the service and, per method, the argument and reply
// definitions followed by a method with an empty body. It is safe for
// concurrent use when si is not being modified.
func (si ServiceInfo) String() string {
	var b strings.Builder
	b.WriteString("package " + si.PkgPath + "\n\n")
	b.WriteString("type " + si.Name + " struct{}\n\n")
	for _, m := range si.Methods {
		b.WriteString("\n" + m.Req + "\n" + m.Reply + "\n")
		b.WriteString("type (s *" + si.Name + ") " + m.Name + "(ctx context.Context, arg *" + m.ReqName +
			", reply *" + m.ReplyName + ") error {\n\treturn nil\n}\n")
	}
	b.WriteString("\n")
	return b.String()
}

// joinServices renders several services as rpcx's GetServices does: one
// package clause, taken from the first service, removed from every
// service text that carries the same clause.
func joinServices(list []*ServiceInfo) string {
	if len(list) == 0 {
		return ""
	}
	clause := "package " + list[0].PkgPath + "\n\n"
	var b strings.Builder
	b.WriteString(clause)
	for _, si := range list {
		b.WriteString(strings.ReplaceAll(si.String(), clause, ""))
	}
	return b.String()
}

// textInfo builds rpcx's description of rcvr's methods; ok is false when
// rcvr has no method rpcx would describe.
func textInfo(rcvr interface{}) (*ServiceInfo, bool) {
	typ := reflect.TypeOf(rcvr)
	base := typ
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	si := &ServiceInfo{Name: base.Name(), PkgPath: shortPkg(base.PkgPath())}
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		if mi, ok := textMethod(m, si.PkgPath); ok {
			si.Methods = append(si.Methods, mi)
		}
	}
	return si, len(si.Methods) > 0
}

// shortPkg turns a package path into the package name rpcx prints.
func shortPkg(pkg string) string {
	if strings.Index(pkg, ".") > 0 {
		pkg = pkg[strings.LastIndex(pkg, ".")+1:]
	}
	return strings.ReplaceAll(filepath.Base(pkg), "-", "_")
}

// textMethod describes method m when it has rpcx's RPC shape.
func textMethod(m reflect.Method, pkg string) (*MethodInfo, bool) {
	mt := m.Type
	if m.PkgPath != "" || mt.NumIn() != 4 || mt.NumOut() != 1 || mt.Out(0) != typeOfError {
		return nil, false
	}
	arg, reply := mt.In(2), mt.In(3)
	if !mt.In(1).Implements(typeOfContext) || reply.Kind() != reflect.Pointer ||
		!exportedOrBuiltin(arg) || !exportedOrBuiltin(reply) {
		return nil, false
	}
	if arg.Kind() == reflect.Pointer {
		arg = arg.Elem()
	}
	reply = reply.Elem()
	mi := &MethodInfo{Name: m.Name, ReqName: arg.Name(), ReplyName: reply.Name()}
	mi.Req = typeText(mi.ReqName, pkg, arg)
	mi.Reply = typeText(mi.ReplyName, pkg, reply)
	return mi, true
}

func exportedOrBuiltin(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r, _ := utf8.DecodeRuneInString(t.Name())
	return unicode.IsUpper(r) || t.PkgPath() == ""
}

// typeText infers a Go definition named name from the JSON encoding of a
// zero value of t, with the generator and options rpcx uses, so that the
// text matches rpcx's. It returns "" when the encoding is empty or the
// generator fails (logged at debug level: rpcx fails the same way for unnamed types such as []byte).
func typeText(name, pkg string, t reflect.Type) string {
	data, _ := json.Marshal(reflect.New(t).Interface())
	text := strings.TrimSpace(string(data))
	if text == "" || text == `""` {
		return ""
	}
	g := jsonstruct.NewGenerator(
		jsonstruct.WithPackageName(pkg),
		jsonstruct.WithTypeName(name),
		jsonstruct.WithStructTagNames(nil),
		jsonstruct.WithIntType("int64"),
	)
	if err := g.ObserveJSONReader(strings.NewReader(text)); err != nil {
		log.Debugf("reflection: describe %s: %v", name, err)
		return ""
	}
	src, err := g.Generate()
	if err != nil {
		log.Debugf("reflection: describe %s: %v", name, err)
		return ""
	}
	out := strings.ReplaceAll(string(src), "``", "")
	return strings.ReplaceAll(out, "package "+pkg+"\n\n", "")
}
