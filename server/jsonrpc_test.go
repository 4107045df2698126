package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

func jsonrpcPost(t *testing.T, hc *http.Client, addr, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	if h == nil {
		h = map[string]string{}
	}
	h[JSONRPCHeader] = "true"
	res, b := do(t, hc, invokeReq(t, addr, h, []byte(body)))
	return res, string(b)
}

func TestJSONRPC(t *testing.T) {
	s := NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	var notified atomic.Int32
	if err := Handle(s, "N", "Note", func(ctx context.Context, req *Args, res *Reply) error {
		notified.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
		if req.ServicePath == "N" && token != "let-me-in" {
			return errors.New("no entry")
		}
		return nil
	}
	addr := testServer(t, s)
	hc := httpClient(t)
	tests := []struct {
		name, body string
		header     map[string]string
		want       string // exact JSON answer ("" = 204 no content)
	}{
		{"single", `{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":6,"B":7},"id":1}`, nil,
			`{"jsonrpc":"2.0","id":1,"result":{"C":42}}`},
		{"string id", `{"jsonrpc":"2.0","method":"Arith.Add","params":{"A":6,"B":7},"id":"abc"}`, nil,
			`{"jsonrpc":"2.0","id":"abc","result":{"C":13}}`},
		{"batch with notification", `[{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":2},"id":1},
			{"jsonrpc":"2.0","method":"N.Note","params":{}},
			{"jsonrpc":"2.0","method":"Arith.Nope","params":{},"id":2},
			1]`, map[string]string{"Authorization": "let-me-in"},
			`[{"jsonrpc":"2.0","id":1,"result":{"C":4}},{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"rpcx: can't find method Nope","data":null}},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: not a request object","data":null}}]`},
		{"notification only", `{"jsonrpc":"2.0","method":"N.Note","params":{"A":1}}`, map[string]string{"Authorization": "let-me-in"}, ""},
		{"parse error", `{"jsonrpc":"2.0",`, nil,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: body is not valid JSON","data":null}}`},
		{"batch parse error", `[{"jsonrpc":"2.0"},`, nil, "-32700"},
		{"empty batch", `[]`, nil, "-32600"},
		{"wrong version", `{"jsonrpc":"1.0","method":"Arith.Mul","params":{},"id":3}`, nil,
			`{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"invalid request: jsonrpc must be \"2.0\"","data":null}}`},
		{"no method", `{"jsonrpc":"2.0","id":4}`, nil, "-32600"},
		{"method without dot", `{"jsonrpc":"2.0","method":"Mul","id":5}`, nil, "-32601"},
		{"unknown service", `{"jsonrpc":"2.0","method":"Nope.Mul","id":6}`, nil, "-32601"},
		{"invalid params type", `{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":"x"},"id":7}`, nil, `"code":-32602`},
		{"scalar params", `{"jsonrpc":"2.0","method":"Arith.Mul","params":3,"id":8}`, nil, `"code":-32602`},
		{"service error with code", `{"jsonrpc":"2.0","method":"Arith.Div","params":{"A":1,"B":0},"id":9}`, nil,
			`{"jsonrpc":"2.0","id":9,"error":{"code":-32001,"message":"divide by zero","data":{"code":3}}}`},
		{"panic is internal", `{"jsonrpc":"2.0","method":"Arith.Boom","params":{},"id":10}`, nil, `"code":-32603`},
		{"auth refused", `{"jsonrpc":"2.0","method":"N.Note","params":{},"id":11}`, nil,
			`{"jsonrpc":"2.0","id":11,"error":{"code":-32001,"message":"no entry","data":{"code":16}}}`},
		{"null id is answered", `{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":1,"B":1},"id":null}`, nil,
			`{"jsonrpc":"2.0","id":null,"result":{"C":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := jsonrpcPost(t, hc, addr, tt.body, tt.header)
			switch {
			case tt.want == "":
				if res.StatusCode != http.StatusNoContent || body != "" {
					t.Fatalf("status %d body %q, want 204", res.StatusCode, body)
				}
				return
			case res.StatusCode != http.StatusOK:
				t.Fatalf("status %d body %q", res.StatusCode, body)
			case strings.HasPrefix(tt.want, "{") || strings.HasPrefix(tt.want, "["):
				if body != tt.want {
					t.Fatalf("answer\n%s\nwant\n%s", body, tt.want)
				}
			case !strings.Contains(body, tt.want):
				t.Fatalf("answer %s lacks %s", body, tt.want)
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("answer is not JSON: %s", body)
			}
		})
	}
	if n := notified.Load(); n != 2 {
		t.Fatalf("notifications handled %d, want 2", n)
	}
	t.Run("metadata both ways", func(t *testing.T) {
		res, body := jsonrpcPost(t, hc, addr, `{"jsonrpc":"2.0","method":"Arith.Meta","params":{},"id":1}`,
			map[string]string{protocol.HeaderMeta: url.Values{"k": {"from json"}}.Encode()})
		q, _ := url.ParseQuery(res.Header.Get(protocol.HeaderMeta))
		if q.Get("echo") != "from json" {
			t.Fatalf("response meta %q (%s)", res.Header.Get(protocol.HeaderMeta), body)
		}
	})
	t.Run("GET refused", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		r.Header.Set(JSONRPCHeader, "true")
		res, _ := do(t, hc, r)
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}

func TestJSONRPCTypes(t *testing.T) {
	tests := []struct {
		in   string
		want ID
		ok   bool
	}{
		{`1`, ID{Number: 1}, true},
		{`-7`, ID{Number: -7}, true},
		{`"x"`, ID{Name: "x", isString: true}, true},
		{`""`, ID{isString: true}, true},
		{`1.5`, ID{}, false},
		{`{}`, ID{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var id ID
			err := json.Unmarshal([]byte(tt.in), &id)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if id != tt.want {
				t.Fatalf("id %+v, want %+v", id, tt.want)
			}
			b, _ := json.Marshal(id)
			if string(b) != tt.in {
				t.Fatalf("round trip %s, want %s", b, tt.in)
			}
		})
	}
	var v VersionTag
	if err := json.Unmarshal([]byte(`"1.0"`), &v); !errors.Is(err, ErrBadJSONRPCVersion) {
		t.Fatalf("version 1.0 accepted: %v", err)
	}
	e := &JSONRPCError{Code: CodeInvalidParams, Message: "m"}
	if e.JSONRPCError() != "m" || !strings.Contains(e.Error(), "-32602") {
		t.Fatalf("error texts %q %q", e.JSONRPCError(), e.Error())
	}
	if share.CodeOf(e) != share.CodeUnknown {
		t.Fatal("JSONRPCError has a courier code")
	}
}
