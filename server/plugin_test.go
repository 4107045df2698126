package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// recordPlugin implements every hook and records the calls.
type recordPlugin struct {
	mu  sync.Mutex
	evs []string
}

func (p *recordPlugin) add(format string, v ...interface{}) {
	p.mu.Lock()
	p.evs = append(p.evs, fmt.Sprintf(format, v...))
	p.mu.Unlock()
}

func (p *recordPlugin) events() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.evs...)
}

func (p *recordPlugin) Register(name string, rcvr interface{}, metadata string) error {
	p.add("register %s %s", name, metadata)
	return nil
}
func (p *recordPlugin) Unregister(name string) error { p.add("unregister %s", name); return nil }
func (p *recordPlugin) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	p.add("registerFunction %s %s", serviceName, fname)
	return nil
}
func (p *recordPlugin) HandleConnAccept(c net.Conn) (net.Conn, bool) { p.add("accept"); return c, true }
func (p *recordPlugin) HandleConnClose(c net.Conn) bool              { p.add("close"); return true }
func (p *recordPlugin) PreReadRequest(ctx context.Context) error     { p.add("preRead"); return nil }
func (p *recordPlugin) PostReadRequest(ctx context.Context, r *protocol.Message, e error) error {
	p.add("postRead %s", r.ServiceMethod)
	return nil
}
func (p *recordPlugin) PostHTTPRequest(ctx context.Context, r *http.Request, params Params) error {
	return nil
}
func (p *recordPlugin) PreHandleRequest(ctx context.Context, r *protocol.Message) error {
	p.add("preHandle %s", r.ServiceMethod)
	return nil
}
func (p *recordPlugin) PreCall(ctx context.Context, s, m string, args interface{}) (interface{}, error) {
	p.add("preCall %s.%s", s, m)
	if a, ok := args.(*Args); ok {
		return &Args{A: a.A * 10, B: a.B}, nil // replace args
	}
	return args, nil
}
func (p *recordPlugin) PostCall(ctx context.Context, s, m string, args, reply interface{}, err error) (interface{}, error) {
	p.add("postCall %s.%s %v", s, m, err)
	if r, ok := reply.(*Reply); ok {
		return &Reply{C: r.C + 1}, nil // replace reply
	}
	return reply, nil
}
func (p *recordPlugin) PreWriteResponse(ctx context.Context, req, res *protocol.Message, err error) error {
	p.add("preWrite %s", req.ServiceMethod)
	return nil
}
func (p *recordPlugin) PostWriteResponse(ctx context.Context, req, res *protocol.Message, err error) error {
	p.add("postWrite %s %v", req.ServiceMethod, err)
	return nil
}
func (p *recordPlugin) PreWriteRequest(ctx context.Context) error { p.add("preWriteReq"); return nil }
func (p *recordPlugin) PostWriteRequest(ctx context.Context, r *protocol.Message, e error) error {
	p.add("postWriteReq %s", r.ServiceMethod)
	return nil
}
func (p *recordPlugin) HeartbeatRequest(ctx context.Context, req *protocol.Message) error {
	p.add("heartbeat")
	return nil
}

func TestPluginHooksOrder(t *testing.T) {
	for _, typed := range []bool{false, true} {
		t.Run(fmt.Sprintf("typed=%v", typed), func(t *testing.T) {
			s := NewServer()
			p := &recordPlugin{}
			s.Plugins.Add(p)
			if typed {
				if err := Handle(s, "Arith", "Mul", (&Arith{}).Mul); err != nil {
					t.Fatal(err)
				}
			} else if err := s.Register(new(Arith), ""); err != nil {
				t.Fatal(err)
			}
			c := dialRaw(t, testServer(t, s))
			res := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":3}`), nil))
			if string(res.Payload) != `{"C":61}` { // (2*10)*3 + 1
				t.Fatalf("payload %q %s", res.Payload, errText(res))
			}
			// PostWriteResponse runs after the write, so the client may see
			// the response first: wait for it before the next frame.
			waitFor(t, func() bool { return strings.Contains(strings.Join(p.events(), ";"), "postWrite") })
			hb := newReq("", "", protocol.SerializeNone, nil, nil)
			hb.SetHeartbeat(true)
			c.call(hb)
			c.conn.Close()
			waitFor(t, func() bool { return s.Stats().ConnsClosed == 1 })
			// The reader's PreReadRequest for the next frame runs concurrently
			// with the handler, so it is counted apart.
			var evs []string
			preReads := 0
			for _, e := range p.events() {
				if e == "preRead" {
					preReads++
					continue
				}
				evs = append(evs, e)
			}
			if preReads != 3 {
				t.Fatalf("%d PreReadRequest calls, want 3", preReads)
			}
			got := strings.Join(evs, ";")
			if !typed {
				got = strings.TrimPrefix(got, "register Arith ;")
			}
			want := "accept;postRead Mul;preHandle Mul;preCall Arith.Mul;postCall Arith.Mul <nil>;" +
				"preWrite Mul;postWrite Mul <nil>;postRead ;heartbeat;close"
			if got != want {
				t.Fatalf("events\n got %s\nwant %s", got, want)
			}
			s.Plugins.Remove(p)
			if n := len(s.Plugins.All()); n != 0 {
				t.Fatalf("%d plugins after Remove", n)
			}
		})
	}
}

type refuseAll struct{}

func (refuseAll) HandleConnAccept(c net.Conn) (net.Conn, bool) { return c, false }

func TestPostConnAcceptRefuses(t *testing.T) {
	s := NewServer()
	s.Plugins.Add(refuseAll{})
	c := dialRaw(t, testServer(t, s))
	c.expectClosed()
}
