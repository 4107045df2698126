package testsvc

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// leakIgnored are stack fragments of goroutines that are not courier's:
// the runtime, the testing package, and rpcx, whose clients and servers
// keep goroutines (heartbeat tickers, pools) after Close. Goroutines of
// courier and of this module's helpers are counted.
var leakIgnored = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*T).Run",
	"created by runtime",
	"runtime.gc",
	"signal.signal_recv",
	"os/signal.",
	"github.com/smallnest/rpcx",
	"github.com/alitto/pond",
	"github.com/rcrowley/go-metrics",
	"github.com/juju/ratelimit",
}

// MainWithLeakCheck runs the tests and then fails the binary if goroutines
// started by courier or by these helpers are still running after a grace
// period of up to 10 seconds.
func MainWithLeakCheck(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitLeaks(10 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leak check: %d goroutines leaked:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

func waitLeaks(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leakedGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if g == "" || strings.Contains(g, "testsvc.leakedGoroutines") {
			continue
		}
		ignored := false
		for _, s := range leakIgnored {
			if strings.Contains(g, s) {
				ignored = true
				break
			}
		}
		if !ignored {
			out = append(out, g)
		}
	}
	return out
}
