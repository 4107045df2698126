package testutils

import (
	"context"
	"errors"
	"time"
)

// Args are the arguments of Arith's methods.
type Args struct {
	A int `json:"A" msgpack:"A"`
	B int `json:"B" msgpack:"B"`
}

// Reply is the reply of Arith's methods.
type Reply struct {
	C int `json:"C" msgpack:"C"`
}

// ErrDivideByZero is returned by Arith.Div when B is 0.
var ErrDivideByZero = errors.New("divide by zero")

// Arith is the test service of the guide: Mul, Add, Div, plus Sleep (waits
// A milliseconds or until ctx is done) and Panic.
type Arith struct{}

// Mul sets reply.C = A * B.
func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

// Add sets reply.C = A + B.
func (t *Arith) Add(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A + args.B
	return nil
}

// Div sets reply.C = A / B or fails with ErrDivideByZero.
func (t *Arith) Div(ctx context.Context, args *Args, reply *Reply) error {
	if args.B == 0 {
		return ErrDivideByZero
	}
	reply.C = args.A / args.B
	return nil
}

// Sleep waits args.A milliseconds (or until ctx is done) and sets reply.C = B.
func (t *Arith) Sleep(ctx context.Context, args *Args, reply *Reply) error {
	select {
	case <-time.After(time.Duration(args.A) * time.Millisecond):
		reply.C = args.B
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Panic panics; the server must turn it into an error response.
func (t *Arith) Panic(ctx context.Context, args *Args, reply *Reply) error {
	panic("arith: panic on purpose")
}

// Echo is a raw-bytes service: Echo copies the request bytes.
type Echo struct{}

// Echo copies args into reply.
func (e *Echo) Echo(ctx context.Context, args []byte, reply *[]byte) error {
	*reply = append((*reply)[:0], args...)
	return nil
}

var timeUntil = time.Until
