package fw

import (
	"context"
	"math"
	"net"

	"github.com/courier-rpc/courier/benchmarks/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// grpcFullMethod is the method path on the wire.
const grpcFullMethod = "/bench." + Service + "/" + Method

// grpcHello is the handler type named by grpcDesc.
type grpcHello interface {
	Say(context.Context, *pb.BenchmarkMessage) (*pb.BenchmarkMessage, error)
}

type grpcImpl struct{}

func (grpcImpl) Say(_ context.Context, args *pb.BenchmarkMessage) (*pb.BenchmarkMessage, error) {
	reply := new(pb.BenchmarkMessage)
	pb.Echo(args, reply)
	return reply, nil
}

// grpcDesc is what protoc-gen-go-grpc would generate for
// service Hello { rpc Say(BenchmarkMessage) returns (BenchmarkMessage); }.
var grpcDesc = grpc.ServiceDesc{
	ServiceName: "bench." + Service,
	HandlerType: (*grpcHello)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: Method,
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(pb.BenchmarkMessage)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(grpcHello).Say(ctx, in)
		},
	}},
	Metadata: "pb/benchmark.proto",
}

type grpcServer struct{ s *grpc.Server }

func (g grpcServer) Serve(ln net.Listener) error { return g.s.Serve(ln) }
func (g grpcServer) Close() error                { g.s.Stop(); return nil }

type grpcConn struct{ c *grpc.ClientConn }

func (g grpcConn) Call(ctx context.Context, args, reply *pb.BenchmarkMessage) error {
	return g.c.Invoke(ctx, grpcFullMethod, args, reply)
}
func (g grpcConn) Close() error { return g.c.Close() }

// grpcMaxMsg lets the 1 MiB scenario through (grpc's default is 4 MiB for
// receiving, which is enough, but say it explicitly).
const grpcMaxMsg = math.MaxInt32

func init() {
	register(Framework{
		Name: "grpc",
		NewServer: func() (Server, error) {
			s := grpc.NewServer(grpc.MaxRecvMsgSize(grpcMaxMsg), grpc.MaxSendMsgSize(grpcMaxMsg))
			s.RegisterService(&grpcDesc, grpcImpl{})
			return grpcServer{s}, nil
		},
		Dial: func(addr string) (Conn, error) {
			c, err := grpc.NewClient(addr,
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(grpcMaxMsg), grpc.MaxCallSendMsgSize(grpcMaxMsg)))
			if err != nil {
				return nil, err
			}
			c.Connect()
			return grpcConn{c}, nil
		},
	})
}
