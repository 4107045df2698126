package server

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// Counted is a Resetter: the server may reuse its values.
type Counted struct {
	N     int `json:"n"`
	Calls int `json:"calls"`
}

func (c *Counted) Reset() { *c = Counted{} }

// PlainArgs has no Reset method: its values are never reused.
type PlainArgs struct {
	N int `json:"n"`
}

// seen records the pointers a handler was given.
type seen struct {
	mu            sync.Mutex
	args, replies map[any]int
}

func newSeen() *seen { return &seen{args: map[any]int{}, replies: map[any]int{}} }

func (s *seen) add(args, reply any) {
	s.mu.Lock()
	s.args[args]++
	s.replies[reply]++
	s.mu.Unlock()
}

// reused reports whether some pointer was handed out more than once.
func (s *seen) reused() (args, replies bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.args {
		args = args || n > 1
	}
	for _, n := range s.replies {
		replies = replies || n > 1
	}
	return args, replies
}

// Reflect is a reflection-registered service over both kinds of values.
type Reflect struct{ seen *seen }

func (r *Reflect) Count(_ context.Context, args *Counted, reply *Counted) error {
	r.seen.add(args, reply)
	reply.Calls++ // 1 on a fresh or reset value
	reply.N = args.N + args.Calls
	return nil
}

func (r *Reflect) Plain(_ context.Context, args *PlainArgs, reply *PlainArgs) error {
	r.seen.add(args, reply)
	reply.N = args.N
	return nil
}

// callJSON calls path.method sequentially n times with {"n": i}, checks
// each reply and returns the last one.
func callJSON(t *testing.T, addr, path, method string, n int) {
	t.Helper()
	c := dialRaw(t, addr)
	for i := range n {
		res := c.call(newReq(path, method, protocol.JSON, []byte(`{"n":`+itoa(i)+`}`), nil))
		if res.MessageStatusType() == protocol.Error {
			t.Fatalf("call %d: %s", i, errText(res))
		}
		var got Counted
		if err := json.Unmarshal(res.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if got.N != i || (method != "Plain" && got.Calls != 1) {
			t.Fatalf("call %d: reply %+v: a reused value was not reset", i, got)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestValueReuse(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		s := NewServer(WithValueReuse(reuse))
		rs := &Reflect{seen: newSeen()}
		if err := s.RegisterName("R", rs, ""); err != nil {
			t.Fatal(err)
		}
		typed := newSeen()
		if err := Handle(s, "T", "Count", func(_ context.Context, args *Counted, reply *Counted) error {
			typed.add(args, reply)
			reply.Calls++
			reply.N = args.N + args.Calls
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		addr := testServer(t, s)
		callJSON(t, addr, "R", "Count", 200)
		callJSON(t, addr, "T", "Count", 200)
		callJSON(t, addr, "R", "Plain", 200)
		// Every value seen is kept alive in the maps, so an address seen
		// twice is a reused value, not a recycled allocation.
		for name, sn := range map[string]*seen{"reflect": rs.seen, "typed": typed} {
			a, r := sn.reused()
			if reuse && (!a || !r) {
				t.Errorf("%s: values were not reused (args %v, replies %v)", name, a, r)
			}
			if !reuse && (a || r) {
				t.Errorf("%s: values reused with WithValueReuse(false)", name)
			}
		}
	}
}

func TestPlainValuesNotReused(t *testing.T) {
	s := NewServer()
	rs := &Reflect{seen: newSeen()}
	if err := s.RegisterName("R", rs, ""); err != nil {
		t.Fatal(err)
	}
	callJSON(t, testServer(t, s), "R", "Plain", 200)
	if a, r := rs.seen.reused(); a || r {
		t.Fatalf("values of a type without Reset were reused (args %v, replies %v)", a, r)
	}
}

// swapPlugin replaces args and reply; what it hands in is its own and must
// never be reset by the server.
type swapPlugin struct {
	mu            sync.Mutex
	args, replies []*Counted
}

func (p *swapPlugin) PreCall(_ context.Context, _, _ string, args interface{}) (interface{}, error) {
	a := &Counted{N: args.(*Counted).N, Calls: 1000}
	p.mu.Lock()
	p.args = append(p.args, a)
	p.mu.Unlock()
	return a, nil
}

func (p *swapPlugin) PostCall(_ context.Context, _, _ string, _, reply interface{}, _ error) (interface{}, error) {
	r := &Counted{N: reply.(*Counted).N, Calls: 7}
	p.mu.Lock()
	p.replies = append(p.replies, r)
	p.mu.Unlock()
	return r, nil
}

func TestReplacedValuesNotReset(t *testing.T) {
	s := NewServer()
	p := &swapPlugin{}
	s.Plugins.Add(p)
	if err := s.RegisterName("R", &Reflect{seen: newSeen()}, ""); err != nil {
		t.Fatal(err)
	}
	if err := Handle(s, "T", "Count", func(_ context.Context, args *Counted, reply *Counted) error {
		reply.N = args.N + args.Calls
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	c := dialRaw(t, addr)
	for _, path := range []string{"R", "T"} {
		for i := range 50 {
			res := c.call(newReq(path, "Count", protocol.JSON, []byte(`{"n":`+itoa(i)+`}`), nil))
			var got Counted
			if err := json.Unmarshal(res.Payload, &got); err != nil || got.N != i+1000 || got.Calls != 7 {
				t.Fatalf("%s call %d: reply %+v (%v), want n=%d calls=7", path, i, got, err, i+1000)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, a := range p.args {
		if a.Calls != 1000 {
			t.Fatalf("args %d from PreCall were reset by the server: %+v", i, a)
		}
	}
	for i, r := range p.replies {
		if r.Calls != 7 {
			t.Fatalf("reply %d from PostCall was reset by the server: %+v", i, r)
		}
	}
}

// ThriftReply encodes itself into a buffer it keeps: its encoding shares
// its memory, so the server must not reuse it.
type ThriftReply struct{ buf []byte }

func (t *ThriftReply) MarshalBinary() ([]byte, error) { return t.buf, nil }
func (t *ThriftReply) UnmarshalBinary(b []byte) error {
	t.buf = append(t.buf[:0], b...)
	return nil
}
func (t *ThriftReply) Reset() { t.buf = t.buf[:0] }

func TestAliasingReplyNotReused(t *testing.T) {
	s := NewServer()
	sn := newSeen()
	if err := Handle(s, "T", "Echo", func(_ context.Context, args *ThriftReply, reply *ThriftReply) error {
		sn.add(args, reply)
		reply.buf = append(reply.buf, args.buf...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	for i := range 100 {
		want := "call " + itoa(i)
		res := c.call(newReq("T", "Echo", protocol.Thrift, []byte(want), nil))
		if string(res.Payload) != want {
			t.Fatalf("call %d: reply %q, want %q", i, res.Payload, want)
		}
	}
	if args, replies := sn.reused(); replies || !args {
		t.Fatalf("reused args %v (want true), replies %v (want false: the payload aliases them)", args, replies)
	}
}
