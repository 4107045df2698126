package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// httpClient returns an HTTP client whose connections are closed at
// cleanup (so the leak check sees no idle keep-alive conns).
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// invokeReq builds an HTTP invoke request.
func invokeReq(t *testing.T, addr string, h map[string]string, body []byte) *http.Request {
	t.Helper()
	path := h[":path"]
	delete(h, ":path")
	r, err := http.NewRequest(http.MethodPost, "http://"+addr+"/"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

func do(t *testing.T, hc *http.Client, r *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHTTPInvoke(t *testing.T) {
	s := NewServer(WithMaxMessageLength(1 << 10))
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
		if req.ServicePath == "Secure" && token != "Bearer good" {
			return errors.New("bad token")
		}
		return nil
	}
	if err := Handle(s, "Secure", "Echo", func(ctx context.Context, req *[]byte, res *[]byte) error {
		*res = *req
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.AddHandler("Routed", "Hello", func(ctx *Context) error {
		ctx.Get(share.ResMetaDataKey).(map[string]string)["routed"] = "yes"
		return ctx.Write("hello " + string(ctx.Payload()))
	})
	addr := testServer(t, s)
	hc := httpClient(t)
	base := map[string]string{protocol.HeaderSerializeType: "1", protocol.HeaderServicePath: "Arith", protocol.HeaderMessageID: "42"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
				continue
			}
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		headers  map[string]string
		body     []byte
		status   int
		wantBody string
		wantHdr  map[string]string
	}{
		{"success", with(protocol.HeaderServiceMethod, "Mul"), []byte(`{"A":6,"B":7}`), 200, `{"C":42}`,
			map[string]string{protocol.HeaderMessageStatusType: "Normal", protocol.HeaderMessageID: "42", protocol.HeaderSerializeType: "1",
				protocol.HeaderServicePath: "Arith", protocol.HeaderServiceMethod: "Mul"}},
		{"service error", with(protocol.HeaderServiceMethod, "Div"), []byte(`{"A":6,"B":0}`), 500, "",
			map[string]string{protocol.HeaderMessageStatusType: "Error", protocol.HeaderErrorMessage: "divide by zero"}},
		{"unknown method", with(protocol.HeaderServiceMethod, "Nope"), []byte(`{}`), 500, "",
			map[string]string{protocol.HeaderMessageStatusType: "Error", protocol.HeaderErrorMessage: "rpcx: can't find method Nope"}},
		{"panic", with(protocol.HeaderServiceMethod, "Boom"), []byte(`{}`), 500, "",
			map[string]string{protocol.HeaderMessageStatusType: "Error"}},
		{"metadata both ways", with(protocol.HeaderServiceMethod, "Meta", protocol.HeaderMeta, "k=v%26w&x=1"), []byte(`{}`), 200, `{"C":0}`,
			map[string]string{protocol.HeaderMeta: "echo=v%26w"}},
		{"gzip body", with(protocol.HeaderServiceMethod, "Mul", "Content-Encoding", "gzip"), gz(t, []byte(`{"A":2,"B":3}`)), 200, `{"C":6}`, nil},
		{"service path from url", with(protocol.HeaderServicePath, "", ":path", "Arith", protocol.HeaderServiceMethod, "Add"), []byte(`{"A":2,"B":3}`), 200, `{"C":5}`,
			map[string]string{protocol.HeaderServicePath: "Arith", protocol.HeaderServiceMethod: "Add"}},
		{"auth ok", with(protocol.HeaderServicePath, "Secure", protocol.HeaderServiceMethod, "Echo", protocol.HeaderSerializeType, "0", "Authorization", "Bearer good"), []byte("raw"), 200, "raw",
			map[string]string{protocol.HeaderMessageStatusType: "Normal"}},
		{"auth refused", with(protocol.HeaderServicePath, "Secure", protocol.HeaderServiceMethod, "Echo", protocol.HeaderSerializeType, "0", "Authorization", "Bearer bad"), []byte("raw"), 401, "",
			map[string]string{protocol.HeaderMessageStatusType: "Error", protocol.HeaderErrorMessage: "bad token"}},
		{"add handler route", with(protocol.HeaderServicePath, "Routed", protocol.HeaderServiceMethod, "Hello"), []byte(`"x"`), 200, `"hello \"x\""`,
			map[string]string{protocol.HeaderMeta: "routed=yes"}},
		{"heartbeat echoes", map[string]string{protocol.HeaderHeartbeat: "true", protocol.HeaderSerializeType: "0"}, []byte("ping"), 200, "ping",
			map[string]string{protocol.HeaderHeartbeat: "true"}},
		{"bad serialize type", with(protocol.HeaderServiceMethod, "Mul", protocol.HeaderSerializeType, "x"), nil, 400, "", nil},
		{"missing method", with(), nil, 400, "", nil},
		{"bad message id", with(protocol.HeaderServiceMethod, "Mul", protocol.HeaderMessageID, "-1"), nil, 400, "", nil},
		{"bad meta", with(protocol.HeaderServiceMethod, "Mul", protocol.HeaderMeta, "%zz"), nil, 400, "", nil},
		{"body over limit", with(protocol.HeaderServiceMethod, "Mul"), bytes.Repeat([]byte(" "), 2<<10), 413, "", nil},
		{"gzip bomb", with(protocol.HeaderServiceMethod, "Mul", "Content-Encoding", "gzip"), gz(t, bytes.Repeat([]byte(" "), 1<<20)), 413, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, hc, invokeReq(t, addr, tt.headers, tt.body))
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s: %s)", res.StatusCode, tt.status, res.Header.Get(protocol.HeaderErrorMessage), body)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Fatalf("body %q, want %q", body, tt.wantBody)
			}
			for k, v := range tt.wantHdr {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.status != 200 && res.Header.Get(protocol.HeaderErrorMessage) == "" {
				t.Errorf("no %s on a %d answer", protocol.HeaderErrorMessage, tt.status)
			}
		})
	}
	t.Run("error code in meta", func(t *testing.T) {
		res, _ := do(t, hc, invokeReq(t, addr, with(protocol.HeaderServiceMethod, "Div"), []byte(`{"A":1,"B":0}`)))
		q, err := url.ParseQuery(res.Header.Get(protocol.HeaderMeta))
		if err != nil || q.Get(share.ErrorCodeKey) != "3" {
			t.Fatalf("meta %q (%v), want code 3", res.Header.Get(protocol.HeaderMeta), err)
		}
	})
}

// Oneway requests are answered at once with an empty 200, before the
// handler finishes.
func TestHTTPInvokeOneway(t *testing.T) {
	s := NewServer()
	release, ran := make(chan struct{}), make(chan string, 1)
	if err := Handle(s, "S", "Later", func(ctx context.Context, req *[]byte, res *[]byte) error {
		<-release
		ran <- string(*req)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	res, body := do(t, httpClient(t), invokeReq(t, addr, map[string]string{
		protocol.HeaderServicePath: "S", protocol.HeaderServiceMethod: "Later", protocol.HeaderSerializeType: "0", protocol.HeaderOneway: "true",
	}, []byte("fire")))
	if res.StatusCode != 200 || len(body) != 0 {
		t.Fatalf("status %d body %q", res.StatusCode, body)
	}
	close(release)
	select {
	case got := <-ran:
		if got != "fire" {
			t.Fatalf("handler got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("oneway handler did not run")
	}
}

func TestHTTPDisabledAndNonRPC(t *testing.T) {
	s, addr := newArithServer(t)
	s.DisableHTTPGateway = true
	s.DisableJSONRPC = true
	hc := httpClient(t)
	tests := []struct {
		name string
		h    map[string]string
		body string
	}{
		{"invoke disabled", map[string]string{protocol.HeaderSerializeType: "1", protocol.HeaderServicePath: "Arith", protocol.HeaderServiceMethod: "Mul"}, `{}`},
		{"jsonrpc disabled", map[string]string{JSONRPCHeader: "true"}, `{"jsonrpc":"2.0","method":"Arith.Mul","params":{},"id":1}`},
		{"plain request", nil, `hello`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, hc, invokeReq(t, addr, tt.h, []byte(tt.body)))
			if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "not an rpc request") {
				t.Fatalf("status %d body %q", res.StatusCode, body)
			}
		})
	}
}

// Binary and HTTP clients share one port concurrently.
func TestHTTPAndBinarySamePort(t *testing.T) {
	_, addr := newArithServer(t)
	hc := httpClient(t)
	const workers, calls = 4, 25
	var wg sync.WaitGroup
	errc := make(chan error, 2*workers)
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			c := dialRaw(t, addr)
			for i := 0; i < calls; i++ {
				m := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":3,"B":5}`), nil))
				if string(m.Payload) != `{"C":15}` {
					errc <- errors.New("binary: " + string(m.Payload) + errText(m))
					return
				}
			}
		}(w)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				r, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(`{"A":4,"B":5}`))
				r.Header.Set(protocol.HeaderSerializeType, "1")
				r.Header.Set(protocol.HeaderServicePath, "Arith")
				r.Header.Set(protocol.HeaderServiceMethod, "Mul")
				res, err := hc.Do(r)
				if err != nil {
					errc <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(b) != `{"C":20}` {
					errc <- errors.New("http: " + string(b))
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// HTTP CONNECT on the tcp port switches to the rpcx protocol, also when
// the client sends its first frame right behind the CONNECT.
func TestHTTPConnectSniffed(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		t.Run(map[bool]string{false: "wait", true: "pipelined"}[pipelined], func(t *testing.T) {
			_, addr := newArithServer(t)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			out := []byte("CONNECT " + share.DefaultRPCPath + " HTTP/1.0\n\n")
			req := newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":7,"B":8}`), nil)
			req.SetSeq(9)
			if pipelined {
				out = append(out, req.Encode()...)
			}
			if _, err := conn.Write(out); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			line, err := br.ReadString('\n')
			if err != nil || line != "HTTP/1.0 200 Connected to rpcx\n" {
				t.Fatalf("status line %q, %v", line, err)
			}
			if blank, _ := br.ReadString('\n'); blank != "\n" {
				t.Fatalf("no blank line: %q", blank)
			}
			if !pipelined {
				if _, err := conn.Write(req.Encode()); err != nil {
					t.Fatal(err)
				}
			}
			res := protocol.NewMessage()
			if err := res.Decode(br); err != nil {
				t.Fatal(err)
			}
			if res.Seq() != 9 || string(res.Payload) != `{"C":56}` {
				t.Fatalf("seq %d payload %q", res.Seq(), res.Payload)
			}
		})
	}
}

// curl, when installed, calls the server as any HTTP client would.
func TestHTTPInvokeCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not on PATH")
	}
	_, addr := newArithServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "-i", "-X", "POST", "http://"+addr+"/",
		"-H", "X-RPCX-SerializeType: 1", "-H", "X-RPCX-ServicePath: Arith", "-H", "X-RPCX-ServiceMethod: Mul",
		"-H", "X-RPCX-Meta: k=curl", "-d", `{"A":11,"B":3}`).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	if !strings.Contains(string(out), `{"C":33}`) || !strings.Contains(string(out), "X-Rpcx-Messagestatustype: Normal") {
		t.Fatalf("curl output:\n%s", out)
	}
	out, err = exec.CommandContext(ctx, curl, "-sS", "-X", "POST", "http://"+addr+"/", "-H", "X-JSONRPC-2.0: true",
		"-d", `[{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":4},"id":1},{"jsonrpc":"2.0","method":"Arith.Add","params":{"A":2,"B":4},"id":"two"}]`).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	want := `[{"jsonrpc":"2.0","id":1,"result":{"C":8}},{"jsonrpc":"2.0","id":"two","result":{"C":6}}]`
	if string(out) != want {
		t.Fatalf("curl jsonrpc output %s, want %s", out, want)
	}
}

// TestHTTPInvokeCancelledOnClose: a handler serving an HTTP invoke on the
// rpcx port sees its context cancelled when the server closes the
// connection, although the sniffed connection's context does not carry the
// courier connection's cancellation (net/http cancels on the closed read).
func TestHTTPInvokeCancelledOnClose(t *testing.T) {
	s := NewServer()
	started, cancelled := make(chan struct{}), make(chan error, 1)
	if err := Handle(s, "Wait", "Wait", func(ctx context.Context, req *[]byte, res *[]byte) error {
		close(started)
		select {
		case <-ctx.Done():
			cancelled <- nil
		case <-time.After(10 * time.Second):
			cancelled <- errors.New("the handler's context was not cancelled within 10s of Close")
		}
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s) // its cleanup checks that Serve returned ErrServerClosed
	hc := httpClient(t)
	r := invokeReq(t, addr, map[string]string{protocol.HeaderSerializeType: "0", protocol.HeaderServicePath: "Wait",
		protocol.HeaderServiceMethod: "Wait", protocol.HeaderMessageID: "1"}, []byte("x"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := hc.Do(r); err == nil {
			res.Body.Close()
		}
	}()
	select {
	case <-started:
	case <-done:
		t.Fatal("the HTTP invoke ended before its handler started")
	}
	s.Close()
	if err := <-cancelled; err != nil {
		t.Fatal(err)
	}
	<-done
}
