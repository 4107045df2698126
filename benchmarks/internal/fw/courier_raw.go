package fw

import (
	"context"
	"sync"

	"github.com/courier-rpc/courier/benchmarks/pb"
	cclient "github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"google.golang.org/protobuf/proto"
)

// courierRawConn drives courier the way `courier bench` does: one Client
// per connection, SendRawMessage with the argument encoded once (the first
// call's, as `courier bench --file` sends one payload for every call) and
// the reply left undecoded. cmd/clicheck compares the CLI with it: the
// same calls, so what differs is how the two tools measure.
type courierRawConn struct {
	c    *cclient.Client
	once sync.Once
	req  *protocol.Message
	err  error
}

func (c *courierRawConn) Call(ctx context.Context, args, _ *pb.BenchmarkMessage) error {
	c.once.Do(func() {
		payload, err := proto.Marshal(args)
		if err != nil {
			c.err = err
			return
		}
		m := protocol.NewMessage()
		m.SetSerializeType(protocol.ProtoBuffer)
		m.ServicePath, m.ServiceMethod, m.Payload = Service, Method, payload
		c.req = m
	})
	if c.err != nil {
		return c.err
	}
	res, err := c.c.SendRawMessage(ctx, c.req)
	if res != nil {
		protocol.FreeMsg(res)
	}
	return err
}

func (c *courierRawConn) Close() error { return c.c.Close() }

func init() {
	register(Framework{
		Name:       "courier-raw",
		NewServer:  newCourierServer,
		HTTPInvoke: true,
		Dial: func(addr string) (Conn, error) {
			c := cclient.NewClient(cclient.DefaultOption)
			if err := c.Connect("tcp", addr); err != nil {
				return nil, err
			}
			return &courierRawConn{c: c}, nil
		},
	})
}
