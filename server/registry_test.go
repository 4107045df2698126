package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

type badReply struct{}

func (badReply) Mul(ctx context.Context, args *Args, reply Reply) error { return nil }

type badReturn struct{}

func (badReturn) Mul(ctx context.Context, args *Args, reply *Reply) (int, error) { return 0, nil }

type unexportedArg struct{}

type hidden struct{ A int }

func (unexportedArg) Mul(ctx context.Context, args *hidden, reply *Reply) error { return nil }

type noMethods struct{}

func (noMethods) Helper(x int) int { return x }

type unexportedService struct{}

func (*unexportedService) Mul(ctx context.Context, args *Args, reply *Reply) error { return nil }

func mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func badFunc(args *Args, reply *Reply) error { return nil }

func TestRegister(t *testing.T) {
	tests := []struct {
		name    string
		reg     func(s *Server) error
		wantErr string // "" means success
	}{
		{"good", func(s *Server) error { return s.Register(new(Arith), "") }, ""},
		{"named unexported type", func(s *Server) error { return s.RegisterName("svc", new(unexportedService), "") }, ""},
		{"unexported type", func(s *Server) error { return s.Register(new(unexportedService), "") }, "not exported"},
		{"reply not pointer", func(s *Server) error { return s.RegisterName("X", badReply{}, "") }, "X.Mul: reply type"},
		{"wrong return", func(s *Server) error { return s.RegisterName("X", badReturn{}, "") }, "X.Mul: must return"},
		{"unexported arg", func(s *Server) error { return s.RegisterName("X", unexportedArg{}, "") }, "X.Mul: argument type"},
		{"no rpc methods", func(s *Server) error { return s.RegisterName("X", noMethods{}, "") }, "no exported methods"},
		{"nil", func(s *Server) error { return s.Register(nil, "") }, "nil receiver"},
		{"duplicate", func(s *Server) error {
			if err := s.Register(new(Arith), ""); err != nil {
				return err
			}
			return s.Register(new(Arith), "")
		}, "already registered"},
		{"function", func(s *Server) error { return s.RegisterFunction("fn", mul, "") }, ""},
		{"function duplicate", func(s *Server) error {
			if err := s.RegisterFunction("fn", mul, ""); err != nil {
				return err
			}
			return s.RegisterFunction("fn", mul, "")
		}, "fn.mul is already registered"},
		{"bad function", func(s *Server) error { return s.RegisterFunction("fn", badFunc, "") }, "function fn.badFunc"},
		{"not a function", func(s *Server) error { return s.RegisterFunction("fn", 3, "") }, "not a function"},
		{"handle duplicate", func(s *Server) error {
			h := func(ctx context.Context, a *Args, r *Reply) error { return nil }
			if err := Handle(s, "T", "M", h); err != nil {
				return err
			}
			return Handle(s, "T", "M", h)
		}, "already registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			err := tt.reg(s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrBadRegistration) {
				t.Fatalf("err = %v, want ErrBadRegistration containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestListAndUnregister(t *testing.T) {
	s := NewServer()
	rp := &recordPlugin{}
	s.Plugins.Add(rp)
	if err := s.Register(new(Arith), "meta"); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterFunction("fn", mul, ""); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.ListServices(), ","); got != "Arith,fn" {
		t.Fatalf("services = %s", got)
	}
	if err := s.UnregisterAll(); err != nil {
		t.Fatal(err)
	}
	if n := len(s.ListServices()); n != 0 {
		t.Fatalf("%d services after UnregisterAll", n)
	}
	want := "register Arith meta;registerFunction fn mul;unregister Arith;unregister fn"
	if got := strings.Join(rp.events(), ";"); got != want {
		t.Fatalf("events = %s\nwant %s", got, want)
	}
}

func TestFuncName(t *testing.T) {
	s := NewServer()
	if err := s.RegisterFunction("fn", mul, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.loadRegistry().find("fn", "mul"); err != nil {
		t.Fatal(err)
	}
}

func TestHelperMethodNotCallable(t *testing.T) {
	_, addr := newArithServer(t)
	c := dialRaw(t, addr)
	res := c.call(newReq("Arith", "Helper", protocol.JSON, []byte(`{}`), nil))
	if got := errText(res); got != "rpcx: can't find method Helper" {
		t.Fatalf("error = %q", got)
	}
}
