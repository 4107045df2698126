package client

import (
	"context"
	"testing"
)

// noopClient is an RPCClient whose calls return at once: what is left of
// an XClient call over it is the XClient layer itself (selection, the
// connection cache, the retry loop, observation and statistics).
type noopClient struct{ fakeClient }

func (c *noopClient) Call(context.Context, string, string, interface{}, interface{}) error {
	return nil
}

// BenchmarkXClientLayer measures the XClient layer's cost per Call (Failtry,
// random selection, one server, no plugins) over an RPCClient that returns
// at once, by one caller and by 100 callers sharing the XClient (the
// benchmark's c=100 per connection pool shape): the difference between the
// two is what contention on the XClient's shared state costs.
func BenchmarkXClientLayer(b *testing.B) {
	f := newFakeNet(1)
	d, err := NewMultipleServersDiscovery(f.pairs())
	if err != nil {
		b.Fatal(err)
	}
	x := newXClient("Arith", Failtry, RandomSelect, d, DefaultOption, nil, func(Option, PluginContainer) RPCClient {
		return &noopClient{fakeClient{net: f, plugins: NewPluginContainer()}}
	})
	defer func() { x.Close(); d.Close() }()
	ctx := context.Background()
	args, reply := 1, 0
	if err := x.Call(ctx, "Mul", &args, &reply); err != nil { // dial
		b.Fatal(err)
	}
	b.Run("callers=1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := x.Call(ctx, "Mul", &args, &reply); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("callers=100", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(50) // × GOMAXPROCS (2 here) goroutines
		b.RunParallel(func(pb *testing.PB) {
			args, reply := 1, 0
			for pb.Next() {
				if err := x.Call(ctx, "Mul", &args, &reply); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
