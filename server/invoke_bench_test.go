package server

import (
	"context"
	"testing"

	"github.com/courier-rpc/courier/protocol"
)

// BenchmarkInvoke measures the invoke sequence alone (decode, call,
// encode; no plugins, no network) of a method found by reflection and of a
// typed handler.
func BenchmarkInvoke(b *testing.B) {
	s := NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		b.Fatal(err)
	}
	if err := Handle(s, "Typed", "Mul", func(_ context.Context, a *Args, r *Reply) error {
		r.C = a.A * a.B
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	cd := s.codecs.Get(protocol.MsgPack)
	payload, err := cd.Encode(&Args{A: 3, B: 4})
	if err != nil {
		b.Fatal(err)
	}
	req := newReq("", "Mul", protocol.MsgPack, payload, nil)
	for _, path := range []string{"Arith", "Typed"} {
		b.Run(path, func(b *testing.B) {
			m := s.loadRegistry().lookup(path, "Mul")
			rc := &reqCtx{src: &reqSource{ctx: context.Background(), s: s}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.invoke(rc, cd, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
