package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tu "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/gateway"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func backend(t *testing.T) (*server.Server, string) {
	t.Helper()
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(tu.Arith), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterName("Meta", new(tu.Meta), ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeListener("tcp", ln)
	t.Cleanup(func() { s.Close() })
	return s, "tcp@" + ln.Addr().String()
}

func post(t *testing.T, url, path, method, body string, extra map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(protocol.HeaderServicePath, path)
	req.Header.Set(protocol.HeaderServiceMethod, method)
	req.Header.Set(protocol.HeaderSerializeType, "1")
	req.Header.Set(protocol.HeaderMessageID, "9")
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func newGateway(t *testing.T, addrs ...string) *httptest.Server {
	t.Helper()
	var pairs []*client.KVPair
	for _, a := range addrs {
		pairs = append(pairs, &client.KVPair{Key: a})
	}
	d, err := client.NewMultipleServersDiscovery(pairs)
	if err != nil {
		t.Fatal(err)
	}
	opt := client.DefaultOption
	opt.Retries = 3
	gw := gateway.New(d, client.Failover, client.RoundRobin, opt)
	hs := httptest.NewServer(gw)
	t.Cleanup(func() {
		hs.Close()
		gw.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return hs
}

func TestGatewayCallsAndErrors(t *testing.T) {
	_, addr := backend(t)
	hs := newGateway(t, addr)

	res := post(t, hs.URL, "Arith", "Mul", `{"A":6,"B":7}`, nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"C":42}` || res.Header.Get(protocol.HeaderMessageStatusType) != "Normal" {
		t.Fatalf("Mul: %d %q %v", res.StatusCode, body, res.Header)
	}
	if res.Header.Get(protocol.HeaderMessageID) != "9" {
		t.Errorf("message id = %q", res.Header.Get(protocol.HeaderMessageID))
	}

	res = post(t, hs.URL, "Arith", "Div", `{"A":1,"B":0}`, nil)
	if res.Header.Get(protocol.HeaderMessageStatusType) != "Error" || res.Header.Get(protocol.HeaderErrorMessage) != "divide by zero" {
		t.Fatalf("Div: %d %v", res.StatusCode, res.Header)
	}

	// Metadata in X-RPCX-Meta reaches the handler; response metadata comes back.
	res = post(t, hs.URL, "Meta", "Echo", `{}`, map[string]string{protocol.HeaderMeta: "k=v", "Authorization": "tok"})
	meta := res.Header.Get(protocol.HeaderMeta)
	if !strings.Contains(meta, "k=v") || !strings.Contains(meta, "echo=yes") || !strings.Contains(meta, share.AuthKey+"=tok") {
		t.Fatalf("meta = %q", meta)
	}

	res = post(t, hs.URL, "", "Mul", `{}`, nil)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("missing path: status %d", res.StatusCode)
	}
	get, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d", get.StatusCode)
	}
}

// TestGatewayFailover sends 1,000 HTTP calls through the gateway to two
// backends and kills one halfway: no call fails.
func TestGatewayFailover(t *testing.T) {
	s1, a1 := backend(t)
	_, a2 := backend(t)
	hs := newGateway(t, a1, a2)

	const total = 1000
	var failed, done atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	work := make(chan int)
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if done.Add(1) == total/2 {
					once.Do(func() { s1.Close() })
				}
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, hs.URL, strings.NewReader(`{"A":2,"B":3}`))
				req.Header.Set(protocol.HeaderServicePath, "Arith")
				req.Header.Set(protocol.HeaderServiceMethod, "Mul")
				req.Header.Set(protocol.HeaderSerializeType, "1")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"C":6}` {
					failed.Add(1)
				}
			}
		}()
	}
	deadline := time.After(60 * time.Second)
	for i := 0; i < total; i++ {
		select {
		case work <- i:
		case <-deadline:
			t.Fatal("gateway calls did not finish in 60s")
		}
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d calls failed after a backend was killed", n, total)
	}
}
