// Package scale measures courier's registries at scale: many servers, each
// on its own loopback listener with its own register plugin, hosted by a
// few child processes, and many XClients each watching the service through
// its own discovery. It reports the time from a registration, a graceful
// deregistration and a SIGKILL until every client's selection reflects it
// (p50/p99), the registry's watch count and request rate, and the clients'
// memory per known server.
//
// Run it with `make scale` (etcd at 500 servers, ZooKeeper and Consul at
// 200, 50 clients) or `go run -tags "etcd zookeeper consul"
// ./_testutils/scale/cmd/scale -h`; the tagged test runs a 50-server
// version in `make test-all`. Every child process is stopped by its PID,
// and every run is bounded by Config.Timeout.
//
// It is not part of the public API.
package scale
