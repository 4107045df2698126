package serverplugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// request returns a request message for path.method.
func request(path, method string) *protocol.Message {
	m := protocol.NewMessage()
	m.SetMessageType(protocol.Request)
	m.ServicePath, m.ServiceMethod = path, method
	return m
}

func TestAliasPostReadRequest(t *testing.T) {
	p := NewAliasPlugin()
	p.Alias("a.b.c.d", "Times", "Arith", "Mul")
	p.Alias("Calc", "Plus", "Arith", "Add")
	tests := []struct {
		name                 string
		path, method         string
		err                  error
		wantPath, wantMethod string
	}{
		{"alias", "a.b.c.d", "Times", nil, "Arith", "Mul"},
		{"second alias", "Calc", "Plus", nil, "Arith", "Add"},
		{"real name untouched", "Arith", "Mul", nil, "Arith", "Mul"},
		{"alias path with other method", "a.b.c.d", "Mul", nil, "a.b.c.d", "Mul"},
		{"unknown", "X", "Y", nil, "X", "Y"},
		{"failed read untouched", "a.b.c.d", "Times", errors.New("boom"), "a.b.c.d", "Times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.path, tt.method)
			if err := p.PostReadRequest(context.Background(), r, tt.err); err != nil {
				t.Fatalf("PostReadRequest: %v", err)
			}
			if r.ServicePath != tt.wantPath || r.ServiceMethod != tt.wantMethod {
				t.Fatalf("got %s.%s, want %s.%s", r.ServicePath, r.ServiceMethod, tt.wantPath, tt.wantMethod)
			}
		})
	}
	if err := p.PostReadRequest(context.Background(), nil, nil); err != nil {
		t.Fatalf("nil request: %v", err)
	}
}

func TestAliasResponse(t *testing.T) {
	p := NewAliasPlugin()
	p.Alias("a.b.c.d", "Times", "Arith", "Mul")
	tests := []struct {
		name                 string
		path, method         string
		wantPath, wantMethod string
	}{
		{"aliased method", "Arith", "Mul", "a.b.c.d", "Times"},
		{"other method", "Arith", "Add", "Arith", "Add"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, hook := range []struct {
				name string
				call func(req, res *protocol.Message) error
			}{
				{"rpcx 3-param", func(req, res *protocol.Message) error { return p.PreWriteResponse(context.Background(), req, res) }},
				{"ResponsePlugin", func(req, res *protocol.Message) error {
					return p.ResponsePlugin().PreWriteResponse(context.Background(), req, res, nil)
				}},
			} {
				req := request(tt.path, tt.method)
				res := req.Clone()
				res.SetMessageType(protocol.Response)
				if err := hook.call(req, res); err != nil {
					t.Fatalf("%s: %v", hook.name, err)
				}
				if res.ServicePath != tt.wantPath || res.ServiceMethod != tt.wantMethod {
					t.Fatalf("%s: got %s.%s, want %s.%s", hook.name, res.ServicePath, res.ServiceMethod, tt.wantPath, tt.wantMethod)
				}
			}
		})
	}
	if err := p.PreWriteResponse(context.Background(), nil, nil); err != nil {
		t.Fatalf("nil messages: %v", err)
	}
}

func TestAliasZeroValueAndReplace(t *testing.T) {
	var p AliasPlugin
	r := request("A", "m")
	if err := p.PostReadRequest(context.Background(), r, nil); err != nil || r.ServicePath != "A" {
		t.Fatalf("zero value changed %s.%s (err %v)", r.ServicePath, r.ServiceMethod, err)
	}
	p.Alias("A", "m", "B", "n")
	p.Alias("A", "m", "C", "o") // replaces
	if err := p.PostReadRequest(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	if r.ServicePath != "C" || r.ServiceMethod != "o" {
		t.Fatalf("got %s.%s, want C.o", r.ServicePath, r.ServiceMethod)
	}
	if len(p.Aliases) != 1 || p.Aliases["A.m"] == nil {
		t.Fatalf("Aliases = %v", p.Aliases)
	}
}

func TestAliasConcurrent(t *testing.T) {
	p := NewAliasPlugin()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				p.Alias(fmt.Sprintf("S%d", g), fmt.Sprintf("m%d", i), "Arith", "Mul")
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				r := request(fmt.Sprintf("S%d", g), fmt.Sprintf("m%d", i))
				_ = p.PostReadRequest(context.Background(), r, nil)
				if r.ServicePath != fmt.Sprintf("S%d", g) && r.ServicePath != "Arith" {
					t.Errorf("bad rewrite %s", r.ServicePath)
				}
			}
		}()
	}
	wg.Wait()
	if got := len(p.Aliases); got != 800 {
		t.Fatalf("%d aliases, want 800", got)
	}
}

func BenchmarkAliasPostReadRequest(b *testing.B) {
	p := NewAliasPlugin()
	p.Alias("a.b.c.d", "Times", "Arith", "Mul")
	ctx := context.Background()
	r := request("a.b.c.d", "Times")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.ServicePath, r.ServiceMethod = "a.b.c.d", "Times"
		_ = p.PostReadRequest(ctx, r, nil)
	}
}
