package otelobs

import (
	"fmt"
	"testing"

	"github.com/courier-rpc/courier/internal/rpcobs"
	"github.com/courier-rpc/courier/share"
	"go.opentelemetry.io/otel/attribute"
)

func TestMethodsCacheAndBound(t *testing.T) {
	var c Methods
	a, b := c.Get("Arith", "Mul"), c.Get("Arith", "Mul")
	if a != b || a.Name != "Arith/Mul" {
		t.Fatalf("not cached: %p %p %q", a, b, a.Name)
	}
	for i := range MaxCached + 10 {
		c.Get("S", fmt.Sprint(i))
	}
	if n := c.n.Load(); n != MaxCached {
		t.Fatalf("%d methods kept, want %d", n, MaxCached)
	}
	if m := c.Get("S", "beyond"); m.Name != "S/beyond" {
		t.Fatalf("uncached method %q", m.Name)
	}
}

func TestOutcome(t *testing.T) {
	m := newMethod("Arith", "Mul")
	if ok := m.Outcome(share.CodeOK); ok != m.Outcome(share.CodeOK) || ok.Span != nil {
		t.Fatal("OK outcome not cached or sets span attributes")
	}
	bad := m.Outcome(share.CodeDeadlineExceeded)
	want := map[string]string{rpcobs.KeyStatusCode: "DEADLINE_EXCEEDED", rpcobs.KeyStatusCodeLegacy: "DEADLINE_EXCEEDED", rpcobs.KeyErrorType: "DEADLINE_EXCEEDED"}
	set := attribute.NewSet(bad.Span...)
	for k, v := range want {
		if got, _ := set.Value(attribute.Key(k)); got.AsString() != v {
			t.Errorf("%s = %q, want %q", k, got.AsString(), v)
		}
	}
	if o := m.Outcome(share.Code(1000)); o.Span == nil { // beyond the cached codes
		t.Fatal("no span attributes for an unknown code")
	}
	if got := m.Outcome(share.CodeUnimplemented); got.Record == nil {
		t.Fatal("no record options")
	}
}

func TestCarrierCopiesOnWrite(t *testing.T) {
	caller := map[string]string{"k": "v"}
	var c Carrier
	c.Reset(caller)
	if c.Get("k") != "v" || c.Map()["k"] != "v" {
		t.Fatal("carrier does not read the map")
	}
	c.Set("traceparent", "x")
	if _, ok := caller["traceparent"]; ok {
		t.Fatal("the caller's map was modified")
	}
	if got := c.Map(); got["traceparent"] != "x" || got["k"] != "v" || len(c.Keys()) != 2 {
		t.Fatalf("map after Set: %v", got)
	}
	c.Reset(nil)
	c.Set("a", "b")
	if c.Map()["a"] != "b" {
		t.Fatal("Set on a nil map")
	}
}
