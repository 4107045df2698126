package server

import (
	"context"
	"fmt"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Handle publishes fn as servicePath.serviceMethod with no reflection per
// call: the argument is decoded into a new Req, fn fills a new Res, and the
// Res is encoded with the request's codec. A wrong fn signature fails to
// compile; a name already taken in servicePath is refused. PreCall and
// PostCall plugins run around fn (a PreCall that returns args of another
// type than *Req fails the call).
func Handle[Req, Res any](s *Server, servicePath, serviceMethod string, fn func(ctx context.Context, req *Req, res *Res) error) error {
	if fn == nil {
		return fmt.Errorf("%w: nil handler for %s.%s", ErrBadRegistration, servicePath, serviceMethod)
	}
	v := &typedValues[Req, Res]{argPool: newTypedPool[Req](), resPool: newTypedPool[Res](), fn: fn}
	inv := func(ctx *reqCtx, cd codec.Codec, req *protocol.Message) ([]byte, error) {
		return invokeCall[*Req, *Res](v, ctx, cd, req)
	}
	return s.addMethod(servicePath, &method{name: serviceMethod, invoke: inv})
}

// HandleFunc is like Handle for functions that return their reply.
func HandleFunc[Req, Res any](s *Server, servicePath, serviceMethod string, fn func(ctx context.Context, req *Req) (*Res, error)) error {
	if fn == nil {
		return fmt.Errorf("%w: nil handler for %s.%s", ErrBadRegistration, servicePath, serviceMethod)
	}
	return Handle(s, servicePath, serviceMethod, func(ctx context.Context, req *Req, res *Res) error {
		r, err := fn(ctx, req)
		if err == nil && r != nil {
			*res = *r
		}
		return err
	})
}

// typedValues are the callValues of a typed handler: plain pointers, no
// reflection.
type typedValues[Req, Res any] struct {
	argPool *typedPool[Req]
	resPool *typedPool[Res]
	fn      func(ctx context.Context, req *Req, res *Res) error
}

func (v *typedValues[Req, Res]) newArgs(s *Server) *Req { return v.argPool.get(s) }

func (v *typedValues[Req, Res]) freeArgs(s *Server, a *Req) { v.argPool.put(s, a) }

func (v *typedValues[Req, Res]) newReply(s *Server) *Res { return v.resPool.get(s) }

func (v *typedValues[Req, Res]) freeReply(s *Server, r *Res) { v.resPool.put(s, r) }

func (v *typedValues[Req, Res]) argsAny(a *Req) any { return a }

func (v *typedValues[Req, Res]) replyAny(r *Res) any { return r }

func (v *typedValues[Req, Res]) preCallArgs(x any) (*Req, error) {
	a, _ := x.(*Req)
	if a == nil {
		return nil, withCode(share.CodeInternal, fmt.Errorf("server: PreCall returned args of type %T, want %T", x, a))
	}
	return a, nil
}

func (v *typedValues[Req, Res]) sameArgs(a, b *Req) bool { return a == b }

func (v *typedValues[Req, Res]) call(ctx *reqCtx, a *Req, r *Res) error { return v.fn(ctx, a, r) }
