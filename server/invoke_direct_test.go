package server

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// counter has a pointer receiver: its state is shared by every call.
type counter struct{ n atomic.Int64 }

func (c *counter) Inc(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = int(c.n.Add(int64(args.A)))
	return nil
}

// scaler has a value receiver: every call runs on a copy.
type scaler struct {
	k    int
	name string
}

func (s scaler) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = s.k * args.A
	s.k++ // changes the copy only
	if s.name != "scaler" {
		return fmt.Errorf("receiver copied wrongly: name %q", s.name)
	}
	return nil
}

// table is a map type with a value receiver.
type table map[int]int

func (t table) Get(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = t[args.A]
	return nil
}

// ctxCheck checks that the context a method gets is the request's.
type ctxCheck struct{}

func (ctxCheck) Peer(ctx context.Context, args *Args, reply *Reply) error {
	if ctx.Value(RemoteConnContextKey) == nil {
		return fmt.Errorf("no connection in ctx")
	}
	if args == nil || reply == nil {
		return fmt.Errorf("nil args or reply")
	}
	reply.C = args.A + args.B
	return nil
}

func TestDirectCallShapes(t *testing.T) {
	s := NewServer()
	c := new(counter)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RegisterName("Counter", c, ""))
	must(s.RegisterName("Scaler", scaler{k: 3, name: "scaler"}, ""))
	must(s.RegisterName("Table", table{2: 20, 5: 50}, ""))
	must(s.RegisterName("Ctx", ctxCheck{}, ""))
	must(s.Register(new(Arith), ""))
	offset := 7
	must(s.RegisterFunctionName("Fn", "Add", func(ctx context.Context, a *Args, r *Reply) error {
		r.C = a.A + a.B + offset // a closure: its captured variables must reach the call
		return nil
	}, ""))
	must(s.RegisterFunction("Fn", mul, ""))
	addr := testServer(t, s)
	rc := dialRaw(t, addr)

	call := func(path, method string, a Args) (int, string) {
		t.Helper()
		p, _ := json.Marshal(a)
		res := rc.call(newReq(path, method, protocol.JSON, p, nil))
		if res.MessageStatusType() == protocol.Error {
			return 0, res.Metadata["__rpcx_error__"]
		}
		var r Reply
		if err := json.Unmarshal(res.Payload, &r); err != nil {
			t.Fatalf("%s.%s: decode %q: %v", path, method, res.Payload, err)
		}
		return r.C, ""
	}
	tests := []struct {
		path, method string
		args         Args
		want         int
	}{
		{"Counter", "Inc", Args{A: 2}, 2},
		{"Counter", "Inc", Args{A: 3}, 5},
		{"Scaler", "Mul", Args{A: 4}, 12},
		{"Scaler", "Mul", Args{A: 5}, 15}, // k was not changed by the last call
		{"Table", "Get", Args{A: 5}, 50},
		{"Ctx", "Peer", Args{A: 1, B: 2}, 3},
		{"Arith", "Mul", Args{A: 6, B: 7}, 42},
		{"Arith", "Add", Args{A: 6, B: 7}, 13}, // arguments by value: reflect path
		{"Fn", "Add", Args{A: 1, B: 2}, 10},
		{"Fn", "mul", Args{A: 3, B: 3}, 9},
	}
	for _, tt := range tests {
		got, errText := call(tt.path, tt.method, tt.args)
		if errText != "" || got != tt.want {
			t.Errorf("%s.%s(%+v) = %d, %q; want %d", tt.path, tt.method, tt.args, got, errText, tt.want)
		}
	}
	if _, errText := call("Arith", "Div", Args{A: 1}); errText != "divide by zero" {
		t.Errorf("Div error = %q", errText)
	}
	if _, errText := call("Arith", "Boom", Args{}); errText == "" {
		t.Error("a panicking method returned no error")
	}
	if c.n.Load() != 5 {
		t.Errorf("counter = %d, want 5: the registered pointer was not the receiver", c.n.Load())
	}
}

func TestDirectCallChosen(t *testing.T) {
	ptrArg := reflect.TypeOf(&Args{})
	valArg := reflect.TypeOf(Args{})
	m, _ := reflect.TypeOf(new(Arith)).MethodByName("Mul")
	if directMethodCall("Mul", m.Func, reflect.ValueOf(new(Arith)), ptrArg) == nil {
		t.Error("pointer receiver, pointer args: want a direct call")
	}
	vm, _ := reflect.TypeOf(scaler{}).MethodByName("Mul")
	if directMethodCall("Mul", vm.Func, reflect.ValueOf(scaler{}), ptrArg) == nil {
		t.Error("value receiver, pointer args: want a direct call")
	}
	a, _ := reflect.TypeOf(new(Arith)).MethodByName("Add")
	if directMethodCall("Add", a.Func, reflect.ValueOf(new(Arith)), valArg) != nil {
		t.Error("arguments by value: want no direct call")
	}
	if directMethodCall("Mul", m.Func, reflect.ValueOf((*Arith)(nil)), ptrArg) != nil {
		t.Error("nil receiver: want no direct call")
	}
	if directFuncCall(reflect.ValueOf(mul), ptrArg) == nil {
		t.Error("function with pointer args: want a direct call")
	}
}

// TestDirectCallUnderGC runs direct calls from many goroutines while the
// collector runs and moves stacks: arguments, replies and receivers passed
// as untyped pointers must stay alive and correct.
func TestDirectCallUnderGC(t *testing.T) {
	s := NewServer()
	if err := s.RegisterName("Counter", new(counter), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	stop := make(chan struct{})
	var gcs sync.WaitGroup
	gcs.Add(1)
	go func() {
		defer gcs.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := dialRaw(t, addr)
			for i := range 200 {
				p, _ := json.Marshal(Args{A: g, B: i})
				res := rc.call(newReq("Arith", "Mul", protocol.JSON, p, nil))
				var r Reply
				if err := json.Unmarshal(res.Payload, &r); err != nil || r.C != g*i {
					t.Errorf("Mul(%d, %d) = %d, %v", g, i, r.C, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	gcs.Wait()
}
