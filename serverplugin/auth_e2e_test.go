package serverplugin_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// startServer starts a server with Arith registered, configured by setup
// (plugins, AuthFunc), on a free loopback port and returns its address.
// Cleanup closes it and waits for ServeListener to return.
func startServer(t testing.TB, setup func(s *server.Server)) (*server.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServerOn(t, ln, setup)
}

// startServerOn is startServer on a given listener.
func startServerOn(t testing.TB, ln net.Listener, setup func(s *server.Server)) (*server.Server, string) {
	t.Helper()
	s := server.NewServer()
	if setup != nil {
		setup(s)
	}
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeListener("tcp", ln) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, server.ErrServerClosed) {
				t.Errorf("ServeListener: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("ServeListener did not return within 10s of Close")
		}
	})
	return s, ln.Addr().String()
}

// dial connects a client to addr; cleanup closes it.
func dial(t testing.TB, addr string) *client.Client {
	t.Helper()
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect("tcp", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// callCtx returns a ctx with a 10s deadline and, if md is not nil, request
// metadata md.
func callCtx(t testing.TB, md map[string]string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if md != nil {
		ctx = context.WithValue(ctx, share.ReqMetaDataKey, md)
	}
	return ctx
}

// mul calls Arith.Mul(a, b) on c with ctx.
func mul(ctx context.Context, c *client.Client, a, b int) (int, error) {
	reply := &testutils.Reply{}
	err := c.Call(ctx, "Arith", "Mul", &testutils.Args{A: a, B: b}, reply)
	return reply.C, err
}

const goodToken = "bearer tGzv3JOkF0XG5Qx2TlKWIA"

// tokenAuth is the guide's AuthFunc.
func tokenAuth(ctx context.Context, req *protocol.Message, token string) error {
	if token == goodToken {
		return nil
	}
	return errors.New("invalid token")
}

func TestAuthFuncSameConnection(t *testing.T) {
	_, addr := startServer(t, func(s *server.Server) { s.AuthFunc = tokenAuth })
	c := dial(t, addr)
	tests := []struct {
		name    string
		md      map[string]string
		wantErr bool
	}{
		{"good token", map[string]string{share.AuthKey: goodToken}, false},
		{"wrong token", map[string]string{share.AuthKey: "bearer wrong"}, true},
		{"missing token", map[string]string{}, true},
		{"no metadata", nil, true},
		{"good token again on the same connection", map[string]string{share.AuthKey: goodToken}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mul(callCtx(t, tt.md), c, 10, 20)
			if !tt.wantErr {
				if err != nil || got != 200 {
					t.Fatalf("got %d, %v; want 200, nil", got, err)
				}
				return
			}
			if err == nil {
				t.Fatal("call without a valid token succeeded")
			}
			if !strings.Contains(err.Error(), "invalid token") {
				t.Fatalf("error %q does not carry AuthFunc's message", err)
			}
			if code := share.CodeOf(err); code != share.CodeUnauthenticated {
				t.Fatalf("code %v, want unauthenticated", code)
			}
			if c.IsShutdown() || c.IsClosing() {
				t.Fatal("a refused token closed the connection")
			}
		})
	}
}

func TestAuthXClient(t *testing.T) {
	_, addr := startServer(t, func(s *server.Server) { s.AuthFunc = tokenAuth })
	d, err := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatal(err)
	}
	xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	t.Cleanup(func() { xc.Close() })
	call := func() error {
		reply := &testutils.Reply{}
		// As in the guide: a metadata map in ctx, which Auth adds the token to.
		ctx := callCtx(t, map[string]string{})
		if err := xc.Call(ctx, "Mul", &testutils.Args{A: 3, B: 4}, reply); err != nil {
			return err
		}
		if reply.C != 12 {
			return errors.New("wrong reply")
		}
		return nil
	}
	xc.Auth("bearer abcdefg1234567")
	if err := call(); err == nil || share.CodeOf(err) != share.CodeUnauthenticated {
		t.Fatalf("wrong token: err %v, want an unauthenticated error", err)
	}
	xc.Auth(goodToken)
	if err := call(); err != nil {
		t.Fatalf("good token after a refused one: %v", err)
	}
}
