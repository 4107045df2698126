package client

import "context"

// TypedXClient calls one method of an XClient with typed arguments and
// replies, so callers need no interface{} conversions. It is safe for
// concurrent use when the XClient is.
type TypedXClient[Req, Res any] struct {
	xc     XClient
	method string
}

// NewTypedXClient returns a typed caller of method on xc.
func NewTypedXClient[Req, Res any](xc XClient, method string) *TypedXClient[Req, Res] {
	return &TypedXClient[Req, Res]{xc: xc, method: method}
}

// Call calls the method with req and returns a new reply (errors as
// XClient.Call).
func (t *TypedXClient[Req, Res]) Call(ctx context.Context, req *Req) (*Res, error) {
	res := new(Res)
	if err := t.xc.Call(ctx, t.method, req, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Go calls the method asynchronously; the result arrives on the returned
// channel (buffer 1) once.
func (t *TypedXClient[Req, Res]) Go(ctx context.Context, req *Req) (<-chan TypedResult[Res], error) {
	res := new(Res)
	call, err := t.xc.Go(ctx, t.method, req, res, make(chan *Call, 1))
	if err != nil {
		return nil, err
	}
	out := make(chan TypedResult[Res], 1)
	go func() {
		c := <-call.Done
		if c.Error != nil {
			out <- TypedResult[Res]{Err: c.Error}
			return
		}
		out <- TypedResult[Res]{Reply: res}
	}()
	return out, nil
}

// TypedResult is the outcome of TypedXClient.Go.
type TypedResult[Res any] struct {
	Reply *Res
	Err   error
}

// Broadcast calls the method on every server (see XClient.Broadcast).
func (t *TypedXClient[Req, Res]) Broadcast(ctx context.Context, req *Req) (*Res, error) {
	res := new(Res)
	if err := t.xc.Broadcast(ctx, t.method, req, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Fork calls the method on every server; the first success wins (see
// XClient.Fork).
func (t *TypedXClient[Req, Res]) Fork(ctx context.Context, req *Req) (*Res, error) {
	res := new(Res)
	if err := t.xc.Fork(ctx, t.method, req, res); err != nil {
		return nil, err
	}
	return res, nil
}
