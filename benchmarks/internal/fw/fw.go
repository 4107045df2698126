// Package fw puts the RPC frameworks under test behind one small interface:
// a server that serves the benchmark service on a listener, and a client
// connection that calls it. Every framework serves the same protobuf
// message with the same handler (pb.Echo).
package fw

import (
	"context"
	"fmt"
	"net"
	"sort"

	"github.com/courier-rpc/courier/benchmarks/pb"
)

// Service and Method name the benchmark call in every framework.
const (
	Service = "Hello"
	Method  = "Say"
)

// Server serves the benchmark service.
type Server interface {
	// Serve serves ln until Close; it returns the framework's error.
	Serve(ln net.Listener) error
	// Close stops serving and closes every connection.
	Close() error
}

// Conn is one client connection (for grpc, one ClientConn with one
// transport). Call is safe for concurrent use.
type Conn interface {
	Call(ctx context.Context, args, reply *pb.BenchmarkMessage) error
	Close() error
}

// Framework builds servers and connections of one RPC framework.
type Framework struct {
	Name      string
	NewServer func() (Server, error)
	Dial      func(addr string) (Conn, error)
	// HTTPInvoke reports that the server also answers HTTP invoke on its
	// RPC port (rpcx's HTTP gateway: a POST with X-RPCX-* headers and the
	// encoded argument as body), as rpcx and courier do.
	HTTPInvoke bool
}

var frameworks = map[string]Framework{}

func register(f Framework) { frameworks[f.Name] = f }

// Get returns the framework called name.
func Get(name string) (Framework, error) {
	f, ok := frameworks[name]
	if !ok {
		return Framework{}, fmt.Errorf("unknown framework %q (have %v)", name, Names())
	}
	return f, nil
}

// Names lists the frameworks, sorted.
func Names() []string {
	var names []string
	for n := range frameworks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
