//go:build etcd

package rolling

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
)

// TestRollingRestartEtcd: 3 server processes registered in a real etcd,
// found by the XClient through etcd discovery, restarted in turn under
// load. Shutdown takes the server out of readiness and out of etcd, waits
// one second for the clients' watch to drop it, then drains: no call fails,
// no oneway message is refused or lost. About 20 s (COURIER_ROLLING_SECONDS
// sets the load phase, 15 s here by default).
func TestRollingRestartEtcd(t *testing.T) {
	eps := os.Getenv("COURIER_ETCD_ENDPOINTS")
	if eps == "" {
		msg := "COURIER_ETCD_ENDPOINTS unset: start etcd with scripts/testenv.sh up"
		if os.Getenv("COURIER_REQUIRE_ENGINES") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	load := 15 * time.Second
	if os.Getenv("COURIER_ROLLING_SECONDS") != "" {
		load = loadSeconds(t)
	}
	base := fmt.Sprintf("/courier-rolling-%d", time.Now().UnixNano())
	env := etcdEnv + "=" + base + "|" + eps
	addrs := freeAddrs(t, 3)
	procs := make([]*proc, len(addrs))
	for i, a := range addrs {
		procs[i] = startProc(t, a, env)
	}
	d, err := client.NewEtcdV3Discovery(base, "Roll", strings.Split(eps, ","), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	xc := client.NewXClient("Roll", client.Failover, client.RoundRobin, d, client.DefaultOption)
	defer xc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(d.GetServices()) < len(addrs) {
		if time.Now().After(deadline) {
			t.Fatalf("etcd discovery sees %d of %d servers", len(d.GetServices()), len(addrs))
		}
		time.Sleep(20 * time.Millisecond) // polling the discovery until the registrations show
	}
	runRolling(t, xc, procs, addrs, load, func(addr string) *proc { return startProc(t, addr, env) })
}
