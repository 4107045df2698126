//go:build mdns

package client

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
)

// The mDNS kit. mDNS multicasts, so its tests run only inside a private
// network namespace where lo is the one multicast interface: the first
// mDNS subtest of the suite re-executes the test binary once through
// scripts/netns-mdns.sh (unshare --net) with every mDNS subtest of the
// suite (-test.run '^TestRegistry[A-Za-z]*$/^mdns$'), and each mDNS subtest
// reports the outcome of its own run there. Inside, COURIER_MDNS_NETNS=1
// says the tests may run. Where namespaces are not permitted the subtests
// skip (fail with COURIER_REQUIRE_ENGINES=1). mDNS has no registry server:
// no outage, unreachable-registry or address cases.

// Browse settings of the tests: short rounds on loopback.
const (
	mdnsTestTimeout  = 150 * time.Millisecond
	mdnsTestInterval = 200 * time.Millisecond
)

func init() {
	newMDNS := func(_, service string, _ []string, _ *share.RegistryOptions) (ServiceDiscovery, error) {
		return NewMDNSDiscoveryOnInterfaces(service, mdnsTestTimeout, mdnsTestInterval, "", mdnsIfaces())
	}
	plugin := func(addr string) *serverplugin.MDNSRegisterPlugin {
		p := serverplugin.NewMDNSRegisterPlugin(addr, 0, nil, 0, "")
		p.Interfaces = mdnsIfaces()
		return p
	}
	registryKits = append(registryKits, &registryKit{
		name:         "mdns",
		newDiscovery: newMDNS,
		strictDiscovery: func(base, service string, addrs []string) (ServiceDiscovery, error) {
			return newMDNS(base, service, addrs, nil)
		},
		newPlugin: func(addr string, _ []string, _ string, _ time.Duration, started chan struct{}) regPlugin {
			p := plugin(addr)
			p.ServerStarted = started
			return p
		},
		badPlugins: func([]string) map[string]regPlugin {
			return map[string]regPlugin{"no network": plugin("127.0.0.1:1"), "no port": plugin("tcp@127.0.0.1")}
		},
		enter:        enterMDNSNetns,
		serverless:   true,
		settle:       3 * mdnsTestInterval, // rounds that must not find it
		killedWithin: 2 * (mdnsTestInterval + mdnsTestTimeout),
		leakDiscovery: func(_, service string, _ []string) (ServiceDiscovery, error) {
			return NewMDNSDiscoveryOnInterfaces(service, 50*time.Millisecond, mdnsTestInterval, "", mdnsIfaces())
		},
		idle: func(t *testing.T, d ServiceDiscovery) func() {
			md := d.(*MDNSDiscovery)
			r0 := md.rounds.Load()
			return func() { // the suite idles 2 s: about 6 rounds of interval + timeout
				if r := md.rounds.Load() - r0; r < 3 || r > 12 {
					t.Fatalf("%d browse rounds in 2 s with interval %v, want 3..12", r, mdnsTestInterval)
				}
			}
		},
	})
}

// mdnsIfaces returns lo, the only interface the tests announce and browse
// on (an empty list when there is none; enterMDNSNetns checks lo before a
// test uses it).
func mdnsIfaces() []net.Interface {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return []net.Interface{}
	}
	return []net.Interface{*lo}
}

// enterMDNSNetns is the mDNS kit's enter: true inside the namespace of
// scripts/netns-mdns.sh; outside it reports the outcome of t's run in the
// namespace and returns false.
func enterMDNSNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv("COURIER_MDNS_NETNS") == "1" {
		if os.Getenv("COURIER_MDNS_IFACE") != "lo" {
			t.Fatal("COURIER_MDNS_NETNS=1 without COURIER_MDNS_IFACE=lo: refusing to multicast")
		}
		if lo := mdnsIfaces(); len(lo) == 0 || lo[0].Flags&net.FlagMulticast == 0 {
			t.Fatal("lo has no MULTICAST flag: not in the namespace of scripts/netns-mdns.sh")
		}
		return true
	}
	run := mdnsNetnsRun()
	if run.skip != "" {
		if engines.Required() {
			t.Fatalf("%s (%s=1 forbids skipping)", run.skip, engines.EnvRequire)
		}
		t.Skip(run.skip)
	}
	res, lines := run.result(t.Name())
	t.Logf("inside unshare --net:\n%s", lines)
	switch {
	case res == "PASS":
	case res == "SKIP":
		t.Skip("skipped inside the network namespace")
	case res == "":
		t.Fatalf("no result for %s in the network namespace (%v); output ends:\n%s", t.Name(), run.err, tail(run.out, 40))
	default:
		t.Fatalf("%s in the network namespace", res)
	}
	return false
}

// netnsRun is the one run of the mDNS subtests in a network namespace.
type netnsRun struct {
	out  string
	err  error
	skip string // why the run could not happen here
}

var mdnsNetnsRun = sync.OnceValue(func() netnsRun {
	script, err := engines.FindScript("netns-mdns.sh")
	if err != nil {
		return netnsRun{skip: "mdns: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{os.Args[0], "-test.run=^TestRegistry[A-Za-z]*$/^mdns$", "-test.count=1", "-test.v", "-test.timeout=5m"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	out, err := exec.CommandContext(ctx, script, args...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 77 {
		return netnsRun{skip: "mdns: tests need a private network namespace and cannot create one here: " + strings.TrimSpace(string(out))}
	}
	return netnsRun{out: string(out), err: err}
})

// result returns the outcome (PASS, FAIL or SKIP; "" when missing) of the
// test called name in the run, and the lines it logged.
func (r netnsRun) result(name string) (string, string) {
	q := regexp.QuoteMeta(name)
	res := regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): ` + q + ` \(`).FindStringSubmatchIndex(r.out)
	if res == nil {
		return "", ""
	}
	from := strings.Index(r.out, "=== RUN   "+name+"\n")
	if from < 0 || from > res[0] {
		from = res[0]
	}
	end := strings.IndexByte(r.out[res[1]:], '\n')
	if end < 0 {
		end = len(r.out) - res[1]
	}
	return r.out[res[2]:res[3]], r.out[from : res[1]+end]
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
