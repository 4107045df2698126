package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/gateway"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// serve runs s on network/address and closes it at cleanup.
func serve(t *testing.T, s *server.Server, network, address string) string {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(network, address) }()
	select {
	case <-s.Started:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve returned %v", err)
		}
	})
	return s.Address().String()
}

func dial(t *testing.T, network, address string, opt client.Option) *client.Client {
	t.Helper()
	c := client.NewClient(opt)
	if err := c.Connect(network, address); err != nil {
		t.Fatalf("connect %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The courier client's "http" network (HTTP CONNECT) reaches a server
// serving "http", the sniffing tcp port and a server mounted on a user's
// HTTP server with ServeHTTP.
func TestHTTPConnectClient(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T, s *server.Server) string
	}{
		{"serve http", func(t *testing.T, s *server.Server) string { return serve(t, s, "http", "127.0.0.1:0") }},
		{"tcp port", func(t *testing.T, s *server.Server) string { return serve(t, s, "tcp", "127.0.0.1:0") }},
		{"ServeHTTP on a user mux", func(t *testing.T, s *server.Server) string {
			mux := http.NewServeMux()
			mux.Handle(share.DefaultRPCPath, s)
			hs := httptest.NewServer(mux)
			t.Cleanup(func() { s.Close(); hs.Close() })
			return hs.Listener.Addr().String()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server.NewServer()
			if err := s.Register(new(Arith), ""); err != nil {
				t.Fatal(err)
			}
			addr := tt.start(t, s)
			c := dial(t, "http", addr, client.DefaultOption)
			var wg sync.WaitGroup
			for i := 1; i <= 20; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					var r Reply
					if err := c.Call(t.Context(), "Arith", "Mul", &Args{A: i, B: 3}, &r); err != nil || r.C != 3*i {
						t.Errorf("call %d: %v %d", i, err, r.C)
					}
				}(i)
			}
			wg.Wait()
		})
	}
}

func TestHTTPConnectRefused(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(hs.Close)
	c := client.NewClient(client.DefaultOption)
	err := c.Connect("http", hs.Listener.Addr().String())
	if !errors.Is(err, client.ErrHTTPConnect) {
		t.Fatalf("err %v, want ErrHTTPConnect", err)
	}
}

// metaRecorder records the request metadata of each call and answers with
// response metadata.
type metaRecorder struct {
	mu   sync.Mutex
	seen []map[string]string
}

func (m *metaRecorder) Echo(ctx context.Context, args *Args, reply *Reply) error {
	req, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	got := map[string]string{}
	for k, v := range req {
		if !strings.HasPrefix(k, "__courier_") { // transport-internal (deadline budget)
			got[k] = v
		}
	}
	m.mu.Lock()
	m.seen = append(m.seen, got)
	m.mu.Unlock()
	res := ctx.Value(share.ResMetaDataKey).(map[string]string)
	res["answer"] = "for " + req["user"]
	res["multi"] = "a=b&c d"
	reply.C = args.A + args.B
	return nil
}

// Scenario 33: request metadata set by a Go client, a JSON-over-HTTP
// client (HTTP invoke and JSON-RPC) and a gateway request arrives
// identically in the handler, and response metadata round-trips.
func TestMetadataSameOverEveryPath(t *testing.T) {
	s := server.NewServer()
	rec := &metaRecorder{}
	if err := s.RegisterName("Meta", rec, ""); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s, "tcp", "127.0.0.1:0")
	reqMeta := map[string]string{"user": "ann", "trace": "t-1", "odd": "x=y&z %"}
	wantRes := map[string]string{"answer": "for ann", "multi": "a=b&c d"}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	d, err := client.NewMultipleServersDiscovery([]*client.KVPair{{Key: "tcp@" + addr}})
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(d, client.Failfast, client.RoundRobin, client.DefaultOption)
	gws := httptest.NewServer(gw)
	t.Cleanup(func() { gws.Close(); gw.Close() })

	httpInvoke := func(t *testing.T, base string) map[string]string {
		r, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(`{"A":1,"B":2}`))
		r.Header.Set(protocol.HeaderSerializeType, "1")
		r.Header.Set(protocol.HeaderServicePath, "Meta")
		r.Header.Set(protocol.HeaderServiceMethod, "Echo")
		q := url.Values{}
		for k, v := range reqMeta {
			q.Set(k, v)
		}
		r.Header.Set(protocol.HeaderMeta, q.Encode())
		res, err := hc.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != `{"C":3}` {
			t.Fatalf("body %q (%s)", body, res.Header.Get(protocol.HeaderErrorMessage))
		}
		return parseMeta(t, res.Header.Get(protocol.HeaderMeta))
	}
	paths := []struct {
		name string
		call func(t *testing.T) map[string]string
	}{
		{"go client", func(t *testing.T) map[string]string {
			c := dial(t, "tcp", addr, client.DefaultOption)
			res := map[string]string{}
			ctx := context.WithValue(context.WithValue(context.Background(), share.ReqMetaDataKey, reqMeta), share.ResMetaDataKey, res)
			var r Reply
			if err := c.Call(ctx, "Meta", "Echo", &Args{A: 1, B: 2}, &r); err != nil || r.C != 3 {
				t.Fatalf("call: %v %d", err, r.C)
			}
			return res
		}},
		{"http invoke", func(t *testing.T) map[string]string { return httpInvoke(t, "http://"+addr) }},
		{"gateway", func(t *testing.T) map[string]string { return httpInvoke(t, gws.URL) }},
		{"json-rpc", func(t *testing.T) map[string]string {
			r, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(`{"jsonrpc":"2.0","method":"Meta.Echo","params":{"A":1,"B":2},"id":1}`))
			r.Header.Set(server.JSONRPCHeader, "true")
			q := url.Values{}
			for k, v := range reqMeta {
				q.Set(k, v)
			}
			r.Header.Set(protocol.HeaderMeta, q.Encode())
			res, err := hc.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !bytes.Contains(body, []byte(`"result":{"C":3}`)) {
				t.Fatalf("body %s", body)
			}
			return parseMeta(t, res.Header.Get(protocol.HeaderMeta))
		}},
	}
	for i, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			res := p.call(t)
			rec.mu.Lock()
			seen := rec.seen[i]
			rec.mu.Unlock()
			if !maps.Equal(seen, reqMeta) {
				t.Errorf("handler saw %v, want %v", seen, reqMeta)
			}
			for k, v := range wantRes {
				if res[k] != v {
					t.Errorf("response meta %s = %q, want %q (all: %v)", k, res[k], v, res)
				}
			}
		})
	}
}

func parseMeta(t *testing.T, s string) map[string]string {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatalf("meta %q: %v", s, err)
	}
	m := map[string]string{}
	for k, v := range q {
		m[k] = v[0]
	}
	return m
}

// HTTP invoke through a user's HTTP server (ServeHTTP as a handler).
func TestServeHTTPInvokeOnUserServer(t *testing.T) {
	s := server.NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	if err := server.Handle(s, "Conn", "Peer", func(ctx context.Context, req *[]byte, res *[]byte) error {
		nc := ctx.Value(server.RemoteConnContextKey).(net.Conn)
		*res = []byte(nc.RemoteAddr().String())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close() })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	r, _ := http.NewRequest(http.MethodPost, hs.URL+"/", nil)
	r.Header.Set(protocol.HeaderSerializeType, "0")
	r.Header.Set(protocol.HeaderServicePath, "Conn")
	r.Header.Set(protocol.HeaderServiceMethod, "Peer")
	res, err := hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(body), "127.0.0.1:") {
		t.Fatalf("peer %q (%s)", body, res.Header.Get(protocol.HeaderErrorMessage))
	}
}
