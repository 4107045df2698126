// Command scale runs courier's registry scale harness (package scale)
// against the engines started by scripts/testenv.sh and prints a Markdown
// table. Build it with the registries' tags:
//
//	eval "$(scripts/testenv.sh up)"
//	go run -tags "etcd zookeeper consul" ./_testutils/scale/cmd/scale -runs etcd=500,zookeeper=200,consul=200
//
// Registry addresses come from COURIER_ETCD_ENDPOINTS, COURIER_ZK_SERVERS and
// COURIER_CONSUL_ADDR; a registry whose variable is unset is skipped with a
// note (an error with -require).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/courier-rpc/courier/_testutils/engines"
	"github.com/courier-rpc/courier/_testutils/scale"
)

func main() {
	scale.ChildMain()
	runs := flag.String("runs", "etcd=500,zookeeper=200,consul=200", "registry=servers pairs, comma-separated")
	clients := flag.Int("clients", 50, "XClients, each with its own discovery")
	procs := flag.Int("procs", 0, "child processes hosting the servers (0: servers/100, at least 2)")
	singles := flag.Int("singles", 20, "steady-state single registrations measured")
	ttl := flag.Duration("ttl", 4*time.Second, "lease/session/check TTL of every plugin")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound of each run")
	require := flag.Bool("require", false, "fail when a registry's address is not set")
	flag.Parse()
	log.SetFlags(log.Ltime)
	var rows []string
	failed := false
	for _, spec := range strings.Split(*runs, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(spec), "=")
		servers, err := strconv.Atoi(n)
		if !ok || err != nil || servers <= 0 {
			log.Fatalf("bad -runs entry %q (want registry=servers)", spec)
		}
		addrs := engines.Addrs(name)
		if len(addrs) == 0 {
			if *require {
				log.Fatalf("%s: no address in the environment (scripts/testenv.sh up)", name)
			}
			log.Printf("%s: skipped, no address in the environment", name)
			continue
		}
		res, err := scale.Run(scale.Config{Registry: name, Addrs: addrs, Servers: servers, Procs: *procs,
			Clients: *clients, Singles: *singles, TTL: *ttl, Timeout: *timeout, Logf: log.Printf})
		if err != nil {
			log.Printf("%v", err)
			failed = true
			continue
		}
		rows = append(rows, res.Row())
		log.Printf("%s", res.Row())
	}
	fmt.Println(scale.Header)
	for _, r := range rows {
		fmt.Println(r)
	}
	if failed {
		os.Exit(1)
	}
}
