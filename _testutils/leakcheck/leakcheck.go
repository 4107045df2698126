// Package leakcheck verifies that tests leave no goroutines behind. Use it
// from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// ignored are goroutines of the runtime and the testing package, and
// long-lived pools of the standard library, that are not leaks.
var ignored = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*T).Run",
	"runtime.goexit",
	"created by runtime.gc",
	"runtime.MHeap_Scavenger",
	"signal.signal_recv",
	"signal.loop",
	"os/signal.",
	"internal/poll.runtime_pollWait", // only with a creator below that is ours we count it
	"created by testing.",
	"runtime/trace.",
	"go.opencensus.io/stats/view.",
	"net/http.(*persistConn)",
	"net/http.(*Transport).dialConnFor",
	"created by net/http.(*Transport).queueForIdleConn",
	"github.com/rcrowley/go-metrics.(*meterArbiter).tick",
	"go.etcd.io/etcd/client/v3/internal/resolver",
	"google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer)",
	"github.com/xtaci/kcp-go/v5.(*TimedSched)", // kcp-go's process-wide scheduler, started at init
}

// Main runs the tests and then fails the binary if goroutines started by
// them are still running after a grace period of up to 10 seconds.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := Wait(10 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutines leaked:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Check fails t if goroutines remain after a grace period; call it at the
// end of a test (or with t.Cleanup) when the test starts and stops
// everything itself.
func Check(t testing.TB, grace time.Duration) {
	t.Helper()
	if leaked := Wait(grace); len(leaked) > 0 {
		t.Errorf("leakcheck: %d goroutines leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
}

// Wait polls until only ignorable goroutines remain or grace elapses, and
// returns the stacks of those that remain.
func Wait(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		leaked := interesting()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Count returns the number of goroutines that are not ignorable.
func Count() int { return len(interesting()) }

func interesting() []string {
	buf := make([]byte, 2<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if g == "" || strings.Contains(strings.SplitN(g, "\n", 2)[0], "[running]") && strings.Contains(g, "leakcheck.interesting") {
			continue
		}
		if isIgnored(g) {
			continue
		}
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

func isIgnored(stack string) bool {
	for _, s := range ignored {
		if s == "internal/poll.runtime_pollWait" {
			continue
		}
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}
