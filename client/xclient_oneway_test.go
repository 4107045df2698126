package client

import (
	"errors"
	"net"
	"testing"
	"time"
)

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Issue 17, behaviour 6: a oneway message whose chosen server cannot be
// dialled goes to another server, in every fail mode, and exactly once.
func TestOnewaySkipsUndialableServer(t *testing.T) {
	for _, mode := range []FailMode{Failfast, Failover, Failtry} {
		t.Run(mode.String(), func(t *testing.T) {
			live := startTestServer(t, "tcp", nil)
			d, err := NewMultipleServersDiscovery([]*KVPair{{Key: "tcp@" + deadAddr(t)}, {Key: "tcp@" + live.addr}})
			if err != nil {
				t.Fatal(err)
			}
			opt := DefaultOption
			opt.ConnectTimeout = time.Second
			x := NewXClient("S", mode, RoundRobin, d, opt)
			t.Cleanup(func() { x.Close() })
			const n = 6 // RoundRobin picks the dead server for half of them
			for i := 0; i < n; i++ {
				var err error
				if i%2 == 0 {
					err = x.Oneshot(t.Context(), "Note", &echoArgs{})
				} else {
					err = x.Call(t.Context(), "Note", &echoArgs{}, nil)
				}
				if err != nil {
					t.Fatalf("oneway %d: %v", i, err)
				}
			}
			for i := 0; i < n; i++ {
				select {
				case <-live.onewayCh:
				case <-time.After(5 * time.Second):
					t.Fatalf("live server got %d of %d oneway messages", i, n)
				}
			}
			select {
			case m := <-live.onewayCh:
				t.Fatalf("a message arrived twice: %s", m)
			case <-time.After(50 * time.Millisecond):
			}
		})
	}
}

// With no server that can be dialled the oneway message fails with the
// dial error.
func TestOnewayAllServersDown(t *testing.T) {
	d, err := NewMultipleServersDiscovery([]*KVPair{{Key: "tcp@" + deadAddr(t)}, {Key: "tcp@" + deadAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	x := NewXClient("S", Failfast, RoundRobin, d, DefaultOption)
	t.Cleanup(func() { x.Close() })
	err = x.Oneshot(t.Context(), "Note", &echoArgs{})
	var op *net.OpError
	if err == nil || !(errors.As(err, &op) || errors.Is(err, ErrServerUnavailable)) {
		t.Fatalf("Oneshot with every server down: %v", err)
	}
}
