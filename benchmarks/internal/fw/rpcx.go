package fw

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/benchmarks/pb"
	rclient "github.com/smallnest/rpcx/client"
	rlog "github.com/smallnest/rpcx/log"
	"github.com/smallnest/rpcx/protocol"
	rserver "github.com/smallnest/rpcx/server"
)

// rpcxHello is the rpcx service; rpcx finds Say by reflection.
type rpcxHello struct{}

// Say is the benchmark handler.
func (rpcxHello) Say(_ context.Context, args, reply *pb.BenchmarkMessage) error {
	pb.Echo(args, reply)
	return nil
}

type rpcxServer struct{ s *rserver.Server }

func (r rpcxServer) Serve(ln net.Listener) error { return r.s.ServeListener("tcp", ln) }
func (r rpcxServer) Close() error                { return r.s.Close() }

type rpcxConn struct{ c *rclient.Client }

func (r rpcxConn) Call(ctx context.Context, args, reply *pb.BenchmarkMessage) error {
	return r.c.Call(ctx, Service, Method, args, reply)
}
func (r rpcxConn) Close() error { return r.c.Close() }

func init() {
	rlog.SetDummyLogger() // rpcx logs every closed connection at INFO
	register(Framework{
		Name:       "rpcx",
		HTTPInvoke: true,
		NewServer: func() (Server, error) {
			s := rserver.NewServer()
			if err := s.RegisterName(Service, rpcxHello{}, ""); err != nil {
				return nil, err
			}
			return rpcxServer{s}, nil
		},
		Dial: func(addr string) (Conn, error) {
			opt := rclient.DefaultOption
			opt.SerializeType = protocol.ProtoBuffer
			c := rclient.NewClient(opt)
			if err := c.Connect("tcp", addr); err != nil {
				return nil, err
			}
			return rpcxConn{c}, nil
		},
	})
}
