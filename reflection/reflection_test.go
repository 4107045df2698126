package reflection

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type Args struct {
	A int `json:"a"`
	B int
	c int //nolint:unused // unexported fields are not described
}

type Reply struct {
	C    int               `json:"c"`
	Tags map[string]string `json:"tags,omitempty"`
	Raw  []byte
	Next *Reply
}

type Arith struct{}

func (Arith) Mul(ctx context.Context, a *Args, r *Reply) error { return nil }
func (Arith) Helper(x int) int                                 { return x }

func add(ctx context.Context, a *Args, r *Reply) error { return nil }

func TestRegisterDescribesOnlyRPCMethods(t *testing.T) {
	r := New()
	if err := r.Register("Arith", &Arith{}, "v=1"); err != nil {
		t.Fatal(err)
	}
	si := r.Services["Arith"]
	if si == nil || len(si.Methods) != 1 || si.Methods[0].Name != "Mul" {
		t.Fatalf("services = %+v", si)
	}
	m := si.Methods[0]
	if m.ReqName != "Args" || m.ReplyName != "Reply" {
		t.Errorf("names = %s, %s", m.ReqName, m.ReplyName)
	}
	if !strings.Contains(m.Req, "A int `json:\"a\"`") || strings.Contains(m.Req, " c int") {
		t.Errorf("req decl = %q", m.Req)
	}
	var sch map[string]any
	if err := json.Unmarshal(m.ReplySchema, &sch); err != nil {
		t.Fatal(err)
	}
	props := sch["properties"].(map[string]any)
	for _, k := range []string{"c", "tags", "Raw", "Next"} {
		if _, ok := props[k]; !ok {
			t.Errorf("reply schema lacks %q: %v", k, props)
		}
	}
	if !strings.Contains(si.String(), "func (s *Arith) Mul(ctx context.Context, arg *Args, reply *Reply) error") {
		t.Errorf("String() = %s", si.String())
	}
}

func TestRegisterFunctionAndQueries(t *testing.T) {
	r := New()
	if err := r.RegisterFunction("Math", "", add, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterFunction("Math", "bad", func(int) {}, ""); err == nil {
		t.Fatal("a function without an RPC signature was accepted")
	}
	var out string
	if err := r.GetService(context.Background(), "Math", &out); err != nil || !strings.Contains(out, `"name":"add"`) {
		t.Fatalf("GetService = %s, %v", out, err)
	}
	if err := r.GetService(context.Background(), "Nope", &out); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown service: %v", err)
	}
	if err := r.GetServices(context.Background(), "", &out); err != nil {
		t.Fatal(err)
	}
	var list []ServiceInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "Math" {
		t.Fatalf("GetServices = %s, %v", out, err)
	}
	if err := r.Unregister("Math"); err != nil {
		t.Fatal(err)
	}
	if len(r.Services) != 0 {
		t.Fatal("Unregister left the service")
	}
}
