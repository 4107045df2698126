package reflection

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
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

func TestDescribeOnlyRPCMethods(t *testing.T) {
	r := New()
	if err := r.Register("Arith", &Arith{}, "v=1"); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := r.DescribeService(t.Context(), "Arith", &out); err != nil {
		t.Fatal(err)
	}
	var d ServiceDesc
	if err := json.Unmarshal([]byte(out), &d); err != nil || len(d.Methods) != 1 || d.Methods[0].Name != "Mul" || d.Metadata != "v=1" {
		t.Fatalf("DescribeService = %s, %v", out, err)
	}
	m := d.Methods[0]
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
	if !strings.Contains(d.String(), "func (s *Arith) Mul(ctx context.Context, arg *Args, reply *Reply) error") {
		t.Errorf("String() = %s", d.String())
	}
}

func TestRegisterFunctionAndDescribeQueries(t *testing.T) {
	r := New()
	if err := r.RegisterFunction("Math", "", add, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterFunction("Math", "bad", func(int) {}, ""); err == nil {
		t.Fatal("a function without an RPC signature was accepted")
	}
	var out string
	if err := r.DescribeService(t.Context(), "Math", &out); err != nil || !strings.Contains(out, `"name":"add"`) {
		t.Fatalf("DescribeService = %s, %v", out, err)
	}
	if err := r.DescribeService(t.Context(), "Nope", &out); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown service: %v", err)
	}
	if err := r.DescribeServices(t.Context(), "", &out); err != nil {
		t.Fatal(err)
	}
	var list []ServiceDesc
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "Math" {
		t.Fatalf("DescribeServices = %s, %v", out, err)
	}
	// rpcx's text view describes receivers only.
	if err := r.GetService(t.Context(), "Math", &out); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetService of a function service: %v", err)
	}
	if err := r.Unregister("Math"); err != nil {
		t.Fatal(err)
	}
	if err := r.DescribeServices(t.Context(), "", &out); err != nil || out != "[]" {
		t.Fatalf("after Unregister: %s, %v", out, err)
	}
}

type Calc int

type Point struct {
	X, Y  float64
	Label string `json:"label"`
	Seen  time.Time
	Hist  []int
}

func (*Calc) Add(ctx context.Context, a Args, r *Reply) error            { return nil }
func (*Calc) Move(ctx context.Context, p *Point, r *Point) error         { return nil }
func (*Calc) Echo(ctx context.Context, s string, r *string) error        { return nil }
func (*Calc) Count(ctx context.Context, n *int, r *int) error            { return nil }
func (*Calc) hidden(ctx context.Context, a *Args, r *Reply) error        { return nil } //nolint:unused // not described
func (*Calc) NoPtr(ctx context.Context, a *Args, r Reply) error          { return nil }
func (*Calc) TwoOut(ctx context.Context, a *Args, r *Reply) (int, error) { return 0, nil }

// calcText is rpcx v1.9.1's reflection output for Calc (checked against
// rpcx itself in the compat module).
const calcText = "package reflection\n\ntype Calc struct{}\n\n" +
	"\ntype Args struct {\n\tB int64 \n\tA int64 \n}\n\ntype Reply struct {\n\tNext any   \n\tRaw  any   \n\tC    int64 \n}\n\n" +
	"type (s *Calc) Add(ctx context.Context, arg *Args, reply *Reply) error {\n\treturn nil\n}\n" +
	"\ntype int int64\n\ntype int int64\n\n" +
	"type (s *Calc) Count(ctx context.Context, arg *int, reply *int) error {\n\treturn nil\n}\n" +
	"\n\n\n" +
	"type (s *Calc) Echo(ctx context.Context, arg *string, reply *string) error {\n\treturn nil\n}\n" +
	"\nimport (\n\t\"time\"\n)\n\ntype Point struct {\n\tHist  any       \n\tSeen  time.Time \n\tX     int64     \n\tY     int64     \n\tLabel string    \n}\n\n" +
	"import (\n\t\"time\"\n)\n\ntype Point struct {\n\tHist  any       \n\tSeen  time.Time \n\tX     int64     \n\tY     int64     \n\tLabel string    \n}\n\n" +
	"type (s *Calc) Move(ctx context.Context, arg *Point, reply *Point) error {\n\treturn nil\n}\n\n"

func TestGetServiceIsRPCXText(t *testing.T) {
	r := New()
	if err := r.Register("Calc", new(Calc), ""); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := r.GetService(context.Background(), "Calc", &out); err != nil {
		t.Fatal(err)
	}
	if out != calcText {
		t.Fatalf("GetService text:\n%q\nwant\n%q", out, calcText)
	}
	if err := r.Register("Arith", Arith{}, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.GetServices(context.Background(), "", &out); err != nil {
		t.Fatal(err)
	}
	var arith string
	if err := r.GetService(context.Background(), "Arith", &arith); err != nil {
		t.Fatal(err)
	}
	clause := "package reflection\n\n"
	want := clause + strings.TrimPrefix(arith, clause) + strings.TrimPrefix(calcText, clause)
	if out != want {
		t.Fatalf("GetServices text:\n%q\nwant\n%q", out, want)
	}
	if err := r.GetServices(context.Background(), "", &out); err != nil || strings.Count(out, "package ") != 1 {
		t.Fatalf("GetServices has %d package clauses", strings.Count(out, "package "))
	}
}

func TestGetServicesEmpty(t *testing.T) {
	r := New()
	out := "x"
	if err := r.GetServices(context.Background(), "", &out); err != nil || out != "" {
		t.Fatalf("GetServices = %q, %v", out, err)
	}
	if err := r.Register("Nil", nil, ""); err == nil {
		t.Fatal("nil receiver accepted")
	}
}
