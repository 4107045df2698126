package serverplugin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/courier-rpc/courier/server"
)

func TestRateLimitingPluginConnections(t *testing.T) {
	tests := []struct {
		name   string
		plugin *RateLimitingPlugin
		want   []bool
	}{
		{"burst then refuse", NewRateLimitingPlugin(time.Hour, 3), []bool{true, true, true, false, false}},
		{"struct literal", &RateLimitingPlugin{FillInterval: time.Hour, Capacity: 2}, []bool{true, true, false}},
		{"no fill interval is unlimited", NewRateLimitingPlugin(0, 1), []bool{true, true, true, true}},
		{"zero capacity refuses all", NewRateLimitingPlugin(time.Millisecond, 0), []bool{false, false}},
		{"negative capacity refuses all", &RateLimitingPlugin{FillInterval: time.Second, Capacity: -1}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := tcpConn("127.0.0.1", "")
			for i, want := range tt.want {
				c, ok := tt.plugin.HandleConnAccept(conn)
				if c != conn {
					t.Fatal("conn replaced")
				}
				if ok != want {
					t.Fatalf("connection %d: accepted = %v, want %v", i, ok, want)
				}
			}
		})
	}
}

func TestReqRateLimitingNonBlocking(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		plugin *ReqRateLimitingPlugin
		want   []error
	}{
		{"burst then limit", NewReqRateLimitingPlugin(time.Hour, 2, false), []error{nil, nil, server.ErrReqReachLimit, server.ErrReqReachLimit}},
		{"struct literal", &ReqRateLimitingPlugin{FillInterval: time.Hour, Capacity: 1}, []error{nil, server.ErrReqReachLimit}},
		{"unlimited", NewReqRateLimitingPlugin(-1, 1, false), []error{nil, nil, nil}},
		{"zero capacity", NewReqRateLimitingPlugin(time.Millisecond, 0, false), []error{server.ErrReqReachLimit}},
		{"zero capacity blocking fails too", NewReqRateLimitingPlugin(time.Millisecond, 0, true), []error{server.ErrReqReachLimit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				if err := tt.plugin.PostReadRequest(ctx, request("Arith", "Mul"), nil); !errors.Is(err, want) || (want == nil && err != nil) {
					t.Fatalf("request %d: err = %v, want %v", i, err, want)
				}
			}
		})
	}
}

func TestReqRateLimitingSkips(t *testing.T) {
	p := NewReqRateLimitingPlugin(time.Hour, 1, false)
	ctx := context.Background()
	if err := p.PostReadRequest(ctx, request("A", "b"), nil); err != nil {
		t.Fatal(err)
	}
	hb := request("", "")
	hb.SetHeartbeat(true)
	for i := 0; i < 3; i++ {
		if err := p.PostReadRequest(ctx, hb, nil); err != nil {
			t.Fatalf("heartbeat limited: %v", err)
		}
	}
	readErr := errors.New("read failed")
	if err := p.PostReadRequest(ctx, nil, readErr); err != nil {
		t.Fatalf("failed read: got %v, want nil (the server handles e)", err)
	}
	if err := p.PostReadRequest(ctx, request("A", "b"), nil); !errors.Is(err, server.ErrReqReachLimit) {
		t.Fatalf("got %v, want limit", err)
	}
}

func TestReqRateLimitingBlocking(t *testing.T) {
	const fill = 40 * time.Millisecond
	p := NewReqRateLimitingPlugin(fill, 1, true)
	ctx := context.Background()
	if err := p.PostReadRequest(ctx, request("A", "b"), nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		if err := p.PostReadRequest(ctx, request("A", "b"), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Three more tokens take three fill intervals (minus scheduling slack).
	if d := time.Since(start); d < 3*fill-10*time.Millisecond {
		t.Fatalf("3 blocked requests took %v, want >= ~%v", d, 3*fill)
	}
}

func TestReqRateLimitingBlockingCanceled(t *testing.T) {
	p := NewReqRateLimitingPlugin(time.Hour, 1, true)
	if err := p.PostReadRequest(context.Background(), request("A", "b"), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.PostReadRequest(ctx, request("A", "b"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %v after ctx ended", d)
	}
}
