//go:build etcd || zookeeper || consul

package scale

import (
	"os"
	"testing"
	"time"

	"github.com/courier-rpc/courier/_testutils/engines"
)

func TestMain(m *testing.M) {
	ChildMain() // the harness's child processes are this test binary
	os.Exit(m.Run())
}

// TestScaleSmall is the 50-server version of `make scale` that runs in
// `make test-all` so the harness never rots: for each registry compiled in
// and running, 50 servers in 2 child processes and 10 XClients. It checks
// that every phase converges (every client's selection gains and loses
// every server) within generous bounds, and logs the table row. About 20 s
// per registry, bounded by a 2-minute run timeout.
func TestScaleSmall(t *testing.T) {
	for _, name := range compiled {
		t.Run(name, func(t *testing.T) {
			addrs := engines.Require(t, name)
			const ttl = 4 * time.Second
			res, err := Run(Config{Registry: name, Addrs: addrs, Base: engines.Prefix(t), Servers: 50, Procs: 2,
				Clients: 10, Singles: 5, TTL: ttl, Timeout: 2 * time.Minute, Args: []string{"-test.run=^$"}, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s\n%s", Header, res.Row())
			if res.Burst.N != 50 || res.Single.N != 5 || res.Deregister.N != 5 || res.Kill.N != res.Killed || res.Killed == 0 {
				t.Fatalf("samples: burst %d, single %d, deregister %d, kill %d of %d", res.Burst.N, res.Single.N, res.Deregister.N, res.Kill.N, res.Killed)
			}
			for what, d := range map[string]Dist{"burst": res.Burst, "single": res.Single, "deregister": res.Deregister} {
				if d.Max > 30*time.Second || d.Max < 0 {
					t.Errorf("%s propagation out of bounds: %+v", what, d)
				}
			}
			if res.Kill.Max > ttl+30*time.Second || res.Kill.P50 < ttl/4 {
				t.Errorf("SIGKILL propagation %+v with TTL %v: too slow, or faster than a lease can expire", res.Kill, ttl)
			}
		})
	}
}
