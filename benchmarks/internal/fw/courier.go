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
		Name: "courier",
		NewServer: func() (Server, error) {
			s := cserver.NewServer()
			if err := s.RegisterName(Service, courierHello{}, ""); err != nil {
				return nil, err
			}
			return courierServer{s}, nil
		},
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
