package protocol

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func httpReq(body string, headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

func TestMessageFromHTTP(t *testing.T) {
	r := httpReq(`{"A":1}`, map[string]string{
		HeaderMessageID: "42", HeaderSerializeType: "1", HeaderServicePath: "Arith",
		HeaderServiceMethod: "Mul", HeaderMeta: "a=1&b=two", "Authorization": "tok",
	})
	m, err := MessageFromHTTP(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq() != 42 || m.SerializeType() != JSON || m.ServicePath != "Arith" || m.ServiceMethod != "Mul" {
		t.Fatalf("message = %v", m)
	}
	if m.Metadata["a"] != "1" || m.Metadata["b"] != "two" || m.Metadata[authKey] != "tok" {
		t.Fatalf("metadata = %v", m.Metadata)
	}
	if string(m.Payload) != `{"A":1}` || m.IsOneway() || m.IsHeartbeat() {
		t.Fatalf("payload %q oneway %t hb %t", m.Payload, m.IsOneway(), m.IsHeartbeat())
	}
}

func TestMessageFromHTTPErrors(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{HeaderSerializeType: "1", HeaderServicePath: "A", HeaderServiceMethod: "B"}
	}
	cases := map[string]func(map[string]string){
		"no serialize type":  func(h map[string]string) { delete(h, HeaderSerializeType) },
		"bad serialize type": func(h map[string]string) { h[HeaderSerializeType] = "x" },
		"big serialize type": func(h map[string]string) { h[HeaderSerializeType] = "99" },
		"bad message id":     func(h map[string]string) { h[HeaderMessageID] = "-1" },
		"no path":            func(h map[string]string) { delete(h, HeaderServicePath) },
		"no method":          func(h map[string]string) { delete(h, HeaderServiceMethod) },
		"bad meta":           func(h map[string]string) { h[HeaderMeta] = "%zz" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			h := base()
			mutate(h)
			if _, err := MessageFromHTTP(httpReq("", h), 0); !errors.Is(err, ErrBadHTTPRequest) {
				t.Fatalf("err = %v, want ErrBadHTTPRequest", err)
			}
		})
	}
	if _, err := MessageFromHTTP(httpReq(strings.Repeat("x", 100), base()), 10); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("long body: err = %v", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("a"), 1000))
	zw.Close()
	h := base()
	h["Content-Encoding"] = "gzip"
	if _, err := MessageFromHTTP(httpReq(gz.String(), h), 100); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("gzip bomb: err = %v", err)
	}
	m, err := MessageFromHTTP(httpReq(gz.String(), h), 2000)
	if err != nil || len(m.Payload) != 1000 {
		t.Fatalf("gzip body: %d bytes, %v", len(m.Payload), err)
	}
}

func TestWriteHTTPResponse(t *testing.T) {
	res := NewMessage()
	res.SetMessageType(Response)
	res.SetSeq(7)
	res.SetSerializeType(JSON)
	res.SetMessageStatusType(Error)
	res.Metadata = map[string]string{ServiceError: "boom", "k": "v"}
	rec := httptest.NewRecorder()
	WriteHTTPResponse(rec, res)
	h := rec.Result().Header
	if h.Get(HeaderMessageID) != "7" || h.Get(HeaderMessageStatusType) != "Error" || h.Get(HeaderErrorMessage) != "boom" {
		t.Fatalf("headers = %v", h)
	}
	if !strings.Contains(h.Get(HeaderMeta), "k=v") || rec.Code != 200 {
		t.Fatalf("meta %q code %d", h.Get(HeaderMeta), rec.Code)
	}
	rec = httptest.NewRecorder()
	WriteHTTPError(rec, http.StatusBadGateway, errors.New("no server"))
	if rec.Code != http.StatusBadGateway || rec.Result().Header.Get(HeaderErrorMessage) != "no server" {
		t.Fatalf("error response: %d %v", rec.Code, rec.Result().Header)
	}
}
