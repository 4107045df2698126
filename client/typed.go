package client

import "context"

// Invoke calls servicePath.serviceMethod on c with req and returns the
// decoded reply. It is the typed form of c.Call: the compiler checks the
// request and reply types, and no interface juggling or reflection is done
// here (the codec still encodes and decodes as usual). c may be a *Client or
// any RPCClient; errors are those of Call.
//
//	res, err := client.Invoke[Args, Reply](ctx, c, "Arith", "Mul", &Args{A: 7, B: 8})
func Invoke[Req, Res any](ctx context.Context, c RPCClient, servicePath, serviceMethod string, req *Req) (*Res, error) {
	res := new(Res)
	if err := c.Call(ctx, servicePath, serviceMethod, req, res); err != nil {
		return nil, err
	}
	return res, nil
}
