package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// ErrUnbufferedDone is returned by XClient.Go, and set as Call.Error by
// Client.Go, when done has no buffer: the result could never be delivered
// without blocking.
var ErrUnbufferedDone = errors.New("client: done channel is unbuffered")

// ErrNilMessage is returned by SendRaw for a nil message.
var ErrNilMessage = errors.New("client: nil message")

// newReplyLike returns a fresh value of reply's type for a concurrent
// attempt (reply itself when it is not a non-nil pointer).
func newReplyLike(reply interface{}) interface{} {
	if reply == nil {
		return nil
	}
	v := reflect.ValueOf(reply)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return reply
	}
	return reflect.New(v.Elem().Type()).Interface()
}

// copyReply stores *src into *dst when both are pointers of one type.
func copyReply(dst, src interface{}) {
	if dst == nil || src == nil || dst == src {
		return
	}
	d, s := reflect.ValueOf(dst), reflect.ValueOf(src)
	if d.Kind() == reflect.Pointer && s.Kind() == reflect.Pointer && !d.IsNil() && !s.IsNil() && d.Type() == s.Type() {
		d.Elem().Set(s.Elem())
	}
}

// callFns returns the attempt of a call into reply (a plain call: no
// closure) and, for Failbackup only (nil otherwise: it would be allocated
// for nothing), the cloner that hedging uses for its concurrent attempts.
func (x *xClient) callFns(serviceMethod string, args, reply interface{}) (attemptCall, func() (attemptFunc, func())) {
	fn := attemptCall{method: serviceMethod, args: args, reply: reply}
	if x.failMode != Failbackup {
		return fn, nil
	}
	clone := func() (attemptFunc, func()) {
		r := newReplyLike(reply)
		return func(ctx context.Context, cl RPCClient) error {
			return cl.Call(ctx, x.servicePath, serviceMethod, args, r)
		}, func() { copyReply(reply, r) }
	}
	return fn, clone
}

// Call calls serviceMethod of the service with args and waits for reply.
// A server is chosen by the selector and failures are handled by the fail
// mode: service errors are returned at once, connection errors and drain
// notices are retried (Failover, Failtry: at most Option.Retries more
// attempts; Failbackup: a second server), never past ctx's deadline, in
// which case ctx.Err() is returned. PreCall and PostCall plugins run once
// around the whole call. Errors: ErrXClientShutdown after Close,
// ErrXClientNoServer without servers, ErrBreakerOpen when every server's
// breaker is open, or the last attempt's error. A nil reply makes the call
// oneway; it goes to another server only when the chosen one provably did
// not take it, as Oneshot does, whatever the fail mode.
func (x *xClient) Call(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error {
	ctx = x.withAuth(ctx)
	ctx, oc := x.startObservedCall(ctx, serviceMethod, KindCall)
	plugins := x.GetPlugins()
	if err := plugins.DoPreCall(ctx, x.servicePath, serviceMethod, args); err != nil {
		oc.end(ctx, err)
		return err
	}
	fn, clone := x.callFns(serviceMethod, args, reply)
	var err error
	switch {
	case reply == nil: // oneway: see sendOneway
		err = x.sendOneway(ctx, serviceMethod, args, fn)
	case x.failMode != Failbackup: // invoke's retry loop, called here: one frame less (see attempt)
		x.deposit()
		key, c := x.directClient(ctx, serviceMethod, args)
		if c == nil {
			err = x.retryLoop(ctx, serviceMethod, args, fn, key, false, nil)
			break
		}
		// The first attempt, made here: the caller waits for its reply
		// right below this frame, not three frames deeper.
		a := x.attemptBegun(key)
		err = c.call(ctx, x.servicePath, serviceMethod, args, reply)
		x.attemptDone(ctx, key, a, err)
		err = x.retryLoop(ctx, serviceMethod, args, fn, key, true, err) // retries, if it needs any
	default:
		err = x.invoke(ctx, serviceMethod, args, fn, clone)
	}
	if perr := plugins.DoPostCall(ctx, x.servicePath, serviceMethod, args, reply, err); perr != nil && err == nil {
		err = perr
	}
	oc.end(ctx, err)
	return err
}

// Go calls serviceMethod asynchronously with the same selection, fail mode
// and plugins as Call; the finished Call is sent on done (a new channel
// with buffer 1 when done is nil). An unbuffered done gives
// ErrUnbufferedDone. If done is full when the call ends, the result is
// dropped and logged at debug level, as net/rpc does.
func (x *xClient) Go(ctx context.Context, serviceMethod string, args interface{}, reply interface{}, done chan *Call) (*Call, error) {
	if done == nil {
		done = make(chan *Call, 1)
	} else if cap(done) == 0 {
		return nil, ErrUnbufferedDone
	}
	x.mu.RLock()
	closed := x.closed
	x.mu.RUnlock()
	if closed {
		return nil, ErrXClientShutdown
	}
	call := &Call{ServicePath: x.servicePath, ServiceMethod: serviceMethod, Args: args, Reply: reply, Done: done}
	go func() {
		call.Error = x.Call(ctx, serviceMethod, args, reply)
		select {
		case call.Done <- call:
		default:
			log.Debugf("client: dropping the result of %s.%s: done channel full", x.servicePath, serviceMethod)
		}
	}()
	return call, nil
}

// Oneshot sends a oneway request (no reply is expected or awaited) to one
// selected server; when that server cannot take it (not dialable, breaker
// open, draining) another one is chosen, whatever the fail mode. Errors
// are those of encoding args, selection and connecting to every server;
// delivery is not confirmed.
func (x *xClient) Oneshot(ctx context.Context, serviceMethod string, args interface{}) error {
	ctx, oc := x.startObservedCall(x.withAuth(ctx), serviceMethod, KindOneway)
	err := x.oneshot(ctx, serviceMethod, args)
	oc.end(ctx, err)
	return err
}

// oneshot is Oneshot without observers.
func (x *xClient) oneshot(ctx context.Context, serviceMethod string, args interface{}) error {
	cdc := x.codecs.Get(x.option.SerializeType)
	if cdc == nil {
		return fmt.Errorf("%w: %v", ErrUnsupportedCodec, x.option.SerializeType)
	}
	payload, err := cdc.Encode(args)
	if err != nil {
		return fmt.Errorf("client: oneshot %s.%s: encode args: %w", x.servicePath, serviceMethod, err)
	}
	m := protocol.NewMessage()
	m.SetMessageType(protocol.Request)
	m.SetOneway(true)
	m.SetSerializeType(x.option.SerializeType)
	m.ServicePath, m.ServiceMethod, m.Payload = x.servicePath, serviceMethod, payload
	if md, ok := ctx.Value(share.ReqMetaDataKey).(map[string]string); ok && len(md) > 0 {
		m.Metadata = make(map[string]string, len(md))
		for k, v := range md {
			m.Metadata[k] = v
		}
	}
	return x.sendOneway(ctx, serviceMethod, args, attemptCall{fn: func(ctx context.Context, cl RPCClient) error {
		_, _, err := cl.SendRaw(ctx, m)
		return err
	}})
}

// SendRaw sends r (its service path and method are used as they are) to a
// server chosen with the selector and fail mode, and returns the response
// metadata and payload.
func (x *xClient) SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error) {
	if r == nil {
		return nil, nil, ErrNilMessage
	}
	ctx = x.withAuth(ctx)
	type result struct {
		meta    map[string]string
		payload []byte
	}
	var res result
	mk := func(msg *protocol.Message, dst *result) attemptFunc {
		return func(ctx context.Context, cl RPCClient) error {
			m, p, err := cl.SendRaw(ctx, msg)
			*dst = result{m, p}
			return err
		}
	}
	clone := func() (attemptFunc, func()) {
		var mine result
		return mk(r.Clone(), &mine), func() { res = mine }
	}
	err := x.invoke(ctx, r.ServiceMethod, r.Payload, attemptCall{fn: mk(r, &res)}, clone)
	return res.meta, res.payload, err
}
