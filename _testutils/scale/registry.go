package scale

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// Registry names accepted by Config.Registry.
const (
	Etcd      = "etcd"
	ZooKeeper = "zookeeper"
	Consul    = "consul"
)

// regPlugin is what every register plugin offers the harness.
type regPlugin interface {
	server.RegisterPlugin
	Start() error
	Stop() error
}

// newPlugin returns the register plugin of registry for the server key.
func newPlugin(registry, key string, addrs []string, base string, ttl time.Duration) (regPlugin, error) {
	switch registry {
	case Etcd:
		return &serverplugin.EtcdV3RegisterPlugin{ServiceAddress: key, EtcdServers: addrs, BasePath: base, Expired: ttl}, nil
	case ZooKeeper:
		return &serverplugin.ZooKeeperRegisterPlugin{ServiceAddress: key, ZooKeeperServers: addrs, BasePath: base, Expired: ttl}, nil
	case Consul:
		return &serverplugin.ConsulRegisterPlugin{ServiceAddress: key, ConsulServers: addrs, BasePath: base, Expired: ttl}, nil
	}
	return nil, fmt.Errorf("scale: unknown registry %q", registry)
}

// newDiscovery returns a discovery of service in registry (it keeps
// watching even when it reports an error).
func newDiscovery(registry string, addrs []string, base, service string) (client.ServiceDiscovery, error) {
	switch registry {
	case Etcd:
		return client.NewEtcdV3Discovery(base, service, addrs, true, nil)
	case ZooKeeper:
		return client.NewZookeeperDiscovery(base, service, addrs, nil)
	case Consul:
		return client.NewConsulDiscovery(base, service, addrs, nil)
	}
	return nil, fmt.Errorf("scale: unknown registry %q", registry)
}

// registryStats is what a registry says about its load: the watches it
// holds and a cumulative count of requests (messages) it received; -1
// when the registry does not tell.
type registryStats struct {
	Watches  int64
	Requests int64
}

// readStats asks every registry server for its counters and sums them.
func readStats(registry string, addrs []string) registryStats {
	total := registryStats{}
	for _, a := range addrs {
		var s registryStats
		var err error
		switch registry {
		case Etcd:
			s, err = etcdStats(a)
		case ZooKeeper:
			s, err = zkStats(a)
		case Consul:
			s, err = consulStats(a)
		default:
			err = fmt.Errorf("unknown registry %q", registry)
		}
		if err != nil {
			return registryStats{Watches: -1, Requests: -1}
		}
		total.Watches = addKnown(total.Watches, s.Watches)
		total.Requests = addKnown(total.Requests, s.Requests)
	}
	return total
}

// addKnown adds counts where -1 means unknown (and stays unknown).
func addKnown(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

var statsClient = &http.Client{Timeout: 5 * time.Second}

// etcdStats reads an etcd member's /metrics: the watchers of its MVCC
// store and every gRPC message it received (unary requests, lease
// keepalives, watch requests).
func etcdStats(addr string) (registryStats, error) {
	resp, err := statsClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return registryStats{}, err
	}
	defer resp.Body.Close()
	var s registryStats
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "etcd_debugging_mvcc_watcher_total "):
			s.Watches += promValue(line)
		case strings.HasPrefix(line, "grpc_server_msg_received_total{"):
			s.Requests += promValue(line)
		}
	}
	return s, sc.Err()
}

// promValue is the value of a Prometheus text line (0 when unreadable).
func promValue(line string) int64 {
	i := strings.LastIndexByte(line, ' ')
	f, err := strconv.ParseFloat(line[i+1:], 64)
	if err != nil {
		return 0
	}
	return int64(f)
}

// zkStats reads a ZooKeeper server's "mntr" four-letter command: watches
// and packets received.
func zkStats(addr string) (registryStats, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return registryStats{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // a late answer fails the read
	if _, err := conn.Write([]byte("mntr")); err != nil {
		return registryStats{}, err
	}
	s := registryStats{Watches: -1, Requests: -1}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "zk_watch_count":
			s.Watches = n
		case "zk_packets_received":
			s.Requests = n
		}
	}
	return s, nil
}

// consulStats: a Consul agent reports neither its blocking queries as
// watches nor a cumulative request count (its /v1/agent/metrics samples are
// per 10 s interval), so both are unknown.
func consulStats(string) (registryStats, error) {
	return registryStats{Watches: -1, Requests: -1}, nil
}
