package fw

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/benchmarks/pb"
	cclient "github.com/courier-rpc/courier/client"
	clog "github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	cserver "github.com/courier-rpc/courier/server"
)

// courierHello is the courier service; courier finds Say by reflection at
// registration, as rpcx does.
type courierHello struct{}

// Say is the benchmark handler.
func (courierHello) Say(_ context.Context, args, reply *pb.BenchmarkMessage) error {
	pb.Echo(args, reply)
	return nil
}

type courierServer struct{ s *cserver.Server }

func (c courierServer) Serve(ln net.Listener) error { return c.s.ServeListener("tcp", ln) }
func (c courierServer) Close() error                { return c.s.Close() }

type courierConn struct{ c *cclient.Client }

func (c courierConn) Call(ctx context.Context, args, reply *pb.BenchmarkMessage) error {
	return c.c.Call(ctx, Service, Method, args, reply)
}
func (c courierConn) Close() error { return c.c.Close() }

func init() {
	clog.SetDummyLogger()
	register(Framework{
		Name:       "courier",
		NewServer:  newCourierServer,
		HTTPInvoke: true,
		Dial: func(addr string) (Conn, error) {
			opt := cclient.DefaultOption
			opt.SerializeType = protocol.ProtoBuffer
			c := cclient.NewClient(opt)
			if err := c.Connect("tcp", addr); err != nil {
				return nil, err
			}
			return courierConn{c}, nil
		},
	})
}

// courierXConn drives courier the way an rpcx program does after changing
// its imports: an XClient over a peer-to-peer discovery, Call by method
// name. Each XClient keeps one connection to the server.
type courierXConn struct{ x cclient.XClient }

func (c courierXConn) Call(ctx context.Context, args, reply *pb.BenchmarkMessage) error {
	return c.x.Call(ctx, Method, args, reply)
}
func (c courierXConn) Close() error { return c.x.Close() }

// courierTypedConn drives courier through the typed XClient API, which
// returns a new reply per call; the adapter leaves reply untouched (the
// load generator does not read it) so the typed API's own allocation is
// what is measured.
type courierTypedConn struct {
	x cclient.XClient
	t *cclient.TypedXClient[pb.BenchmarkMessage, pb.BenchmarkMessage]
}

func (c courierTypedConn) Call(ctx context.Context, args, _ *pb.BenchmarkMessage) error {
	_, err := c.t.Call(ctx, args)
	return err
}
func (c courierTypedConn) Close() error { return c.x.Close() }

// dialCourierX returns an XClient of the benchmark service at addr whose
// connection is up (the first call would dial it otherwise).
func dialCourierX(addr string) (cclient.XClient, error) {
	d, err := cclient.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		return nil, err
	}
	opt := cclient.DefaultOption
	opt.SerializeType = protocol.ProtoBuffer
	return cclient.NewXClient(Service, cclient.Failtry, cclient.RandomSelect, d, opt), nil
}

func newCourierServer() (Server, error) {
	s := cserver.NewServer()
	if err := s.RegisterName(Service, courierHello{}, ""); err != nil {
		return nil, err
	}
	return courierServer{s}, nil
}

func init() {
	register(Framework{
		Name:       "courier-x",
		NewServer:  newCourierServer,
		HTTPInvoke: true,
		Dial: func(addr string) (Conn, error) {
			x, err := dialCourierX(addr)
			if err != nil {
				return nil, err
			}
			return courierXConn{x}, nil
		},
	})
	register(Framework{
		Name:       "courier-typed",
		NewServer:  newCourierServer,
		HTTPInvoke: true,
		Dial: func(addr string) (Conn, error) {
			x, err := dialCourierX(addr)
			if err != nil {
				return nil, err
			}
			return courierTypedConn{x, cclient.NewTypedXClient[pb.BenchmarkMessage, pb.BenchmarkMessage](x, Method)}, nil
		},
	})
}
