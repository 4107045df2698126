package client

import (
	"context"
	"errors"
	"testing"

	"github.com/courier-rpc/courier/share"
)

type inprocArith struct{}

func (inprocArith) Mul(ctx context.Context, a *mulArgs, r *mulReply) error {
	r.C = a.A * a.B
	return nil
}

func (inprocArith) Fail(ctx context.Context, a *mulArgs, r *mulReply) error {
	return share.NewError(share.CodeInvalidArgument, "bad args")
}

func (inprocArith) Panic(ctx context.Context, a *mulArgs, r *mulReply) error { panic("oops") }

func (inprocArith) NotAHandler(a int) int { return a }

func TestInprocess(t *testing.T) {
	if err := InprocessClient.Register("InArith", inprocArith{}, ""); err != nil {
		t.Fatal(err)
	}
	if err := InprocessClient.RegisterFunction("InFn", "add", func(ctx context.Context, a mulArgs, r *mulReply) error {
		r.C = a.A + a.B
		return nil
	}, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { InprocessClient.Unregister("InArith"); InprocessClient.Unregister("InFn") })
	if err := InprocessClient.RegisterFunction("InFn", "bad", 42, ""); !errors.Is(err, ErrInprocess) {
		t.Fatalf("bad function: %v", err)
	}
	if err := InprocessClient.Register("x", nil, ""); !errors.Is(err, ErrInprocess) {
		t.Fatalf("nil receiver: %v", err)
	}
	d := NewInprocessDiscovery()
	defer d.Close()
	x := NewXClient("InArith", Failtry, RandomSelect, d, DefaultOption)
	defer x.Close()
	var r mulReply
	if err := x.Call(t.Context(), "Mul", &mulArgs{6, 7}, &r); err != nil || r.C != 42 {
		t.Fatalf("mul: %v %v", r, err)
	}
	// Arguments of another type are converted through msgpack.
	var m map[string]int
	if err := x.Call(t.Context(), "Mul", map[string]int{"A": 2, "B": 3}, &m); err != nil || m["C"] != 6 {
		t.Fatalf("converted: %v %v", m, err)
	}
	err := x.Call(t.Context(), "Fail", &mulArgs{}, &r)
	if !IsServiceError(err) || share.CodeOf(err) != share.CodeInvalidArgument {
		t.Fatalf("fail: %v (%v)", err, share.CodeOf(err))
	}
	if err := x.Call(t.Context(), "Panic", &mulArgs{}, &r); !IsServiceError(err) {
		t.Fatalf("panic: %v", err)
	}
	if err := x.Call(t.Context(), "NotAHandler", &mulArgs{}, &r); !IsServiceError(err) {
		t.Fatalf("not a handler: %v", err)
	}
	fx := NewXClient("InFn", Failfast, RandomSelect, d, DefaultOption)
	defer fx.Close()
	if err := fx.Call(t.Context(), "add", &mulArgs{2, 3}, &r); err != nil || r.C != 5 {
		t.Fatalf("function: %v %v", r, err)
	}
	call, _ := fx.Go(t.Context(), "add", &mulArgs{1, 1}, &r, nil)
	if c := <-call.Done; c.Error != nil || r.C != 2 {
		t.Fatal(c.Error)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := InprocessClient.Call(ctx, "InFn", "add", &mulArgs{}, &r); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if _, _, err := InprocessClient.SendRaw(t.Context(), nil); !errors.Is(err, ErrInprocess) {
		t.Fatal(err)
	}
	c := InprocessClient.Go(t.Context(), "InFn", "add", &mulArgs{1, 2}, &r, nil)
	if (<-c.Done).Error != nil {
		t.Fatal("go")
	}
	if InprocessClient.IsShutdown() || InprocessClient.IsClosing() || InprocessClient.GetConn() != nil ||
		InprocessClient.Connect("", "") != nil || InprocessClient.Close() != nil || InprocessClient.RemoteAddr() == "" {
		t.Fatal("inprocess client state")
	}
	InprocessClient.RegisterServerMessageChan(nil)
	InprocessClient.UnregisterServerMessageChan()
}
