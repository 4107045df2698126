package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// The courier client's ws and wss networks reach Serve("ws"), Serve("wss"),
// a tcp port (sniffed) and ServeHTTP mounted on a user's mux; calls with
// large payloads cross several frames.
func TestWebSocketClient(t *testing.T) {
	pair, err := testutils.TLS()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		network string
		opts    []server.OptionFn
		tls     bool
		start   func(t *testing.T, s *server.Server) string
	}{
		{"serve ws", "ws", nil, false, func(t *testing.T, s *server.Server) string { return serve(t, s, "ws", "127.0.0.1:0") }},
		{"serve wss", "wss", []server.OptionFn{server.WithTLSConfig(pair.ServerConfig(false))}, true,
			func(t *testing.T, s *server.Server) string { return serve(t, s, "wss", "127.0.0.1:0") }},
		{"tcp port", "ws", nil, false, func(t *testing.T, s *server.Server) string { return serve(t, s, "tcp", "127.0.0.1:0") }},
		{"user mux", "ws", nil, false, func(t *testing.T, s *server.Server) string {
			mux := http.NewServeMux()
			mux.Handle(share.DefaultRPCPath, s)
			hs := httptest.NewServer(mux)
			t.Cleanup(func() { s.Close(); hs.Close() })
			return hs.Listener.Addr().String()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server.NewServer(tt.opts...)
			if err := server.Handle(s, "Echo", "Bytes", func(ctx context.Context, req *[]byte, res *[]byte) error {
				*res = *req
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			addr := tt.start(t, s)
			opt := client.DefaultOption
			opt.SerializeType = 0
			if tt.tls {
				opt.TLSConfig = pair.ClientConfig(false)
			}
			c := dial(t, tt.network, addr, opt)
			var wg sync.WaitGroup
			for i, size := range []int{0, 10, 200, 70 << 10, 3 << 20} {
				wg.Add(1)
				go func(i, size int) {
					defer wg.Done()
					in := []byte(strings.Repeat(string(rune('a'+i)), size))
					var out []byte
					if err := c.Call(t.Context(), "Echo", "Bytes", &in, &out); err != nil || string(out) != string(in) {
						t.Errorf("size %d: %v, got %d bytes", size, err, len(out))
					}
				}(i, size)
			}
			wg.Wait()
		})
	}
}

func TestWebSocketRefused(t *testing.T) {
	t.Run("wss without tls", func(t *testing.T) {
		if err := server.NewServer().Serve("wss", "127.0.0.1:0"); !errors.Is(err, server.ErrWSSNeedsTLS) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("not a websocket server", func(t *testing.T) {
		hs := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(hs.Close)
		err := client.NewClient(client.DefaultOption).Connect("ws", hs.Listener.Addr().String())
		if !errors.Is(err, client.ErrWebSocket) {
			t.Fatalf("err %v, want ErrWebSocket", err)
		}
	})
}
