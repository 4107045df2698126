package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

type echoArgs struct {
	A int
	S string
}

// thriftish is a value encoded by the Thrift codec through BinaryMarshaler.
type thriftish struct{ V string }

func (x *thriftish) MarshalBinary() ([]byte, error) { return []byte(x.V), nil }
func (x *thriftish) UnmarshalBinary(b []byte) error { x.V = string(b); return nil }

// roundTrip calls Echo with a value of serialize type st and checks the reply.
func roundTrip(t *testing.T, c *Client, st protocol.SerializeType) {
	t.Helper()
	ctx := context.Background()
	big := strings.Repeat("courier ", 2000) // compressible, > one read buffer
	switch st {
	case protocol.SerializeNone:
		var reply []byte
		if err := c.Call(ctx, "S", "Echo", []byte(big), &reply); err != nil {
			t.Fatal(err)
		}
		if string(reply) != big {
			t.Fatalf("raw reply of %d bytes differs", len(reply))
		}
	case protocol.JSON, protocol.MsgPack:
		var reply echoArgs
		if err := c.Call(ctx, "S", "Echo", &echoArgs{A: 7, S: big}, &reply); err != nil {
			t.Fatal(err)
		}
		if reply.A != 7 || reply.S != big {
			t.Fatalf("reply %d %d bytes", reply.A, len(reply.S))
		}
	case protocol.ProtoBuffer:
		reply := &wrapperspb.StringValue{}
		if err := c.Call(ctx, "S", "Echo", wrapperspb.String(big), reply); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(reply, wrapperspb.String(big)) {
			t.Fatal("protobuf reply differs")
		}
	case protocol.Thrift:
		reply := &thriftish{}
		if err := c.Call(ctx, "S", "Echo", &thriftish{V: big}, reply); err != nil {
			t.Fatal(err)
		}
		if reply.V != big {
			t.Fatal("thrift reply differs")
		}
	}
}

func TestClientRoundTrip(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	transports := []struct {
		name, network string
		tls           bool
	}{
		{"memu", "memu", false},
		{"tcp", "tcp", false},
		{"unix", "unix", false},
		{"tls-tcp", "tcp", true},
		{"tls-memu", "memu", true},
	}
	types := []protocol.SerializeType{protocol.SerializeNone, protocol.JSON, protocol.ProtoBuffer, protocol.MsgPack, protocol.Thrift}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			var scfg = srvTLS
			if !tr.tls {
				scfg = nil
			}
			s := startTestServer(t, tr.network, scfg)
			for _, st := range types {
				for _, ct := range []protocol.CompressType{protocol.None, protocol.Gzip} {
					t.Run(fmt.Sprintf("%s/gzip=%t", st, ct == protocol.Gzip), func(t *testing.T) {
						opt := DefaultOption
						opt.SerializeType, opt.CompressType = st, ct
						if tr.tls {
							opt.TLSConfig = cliTLS.Clone()
							if tr.network == "memu" {
								opt.TLSConfig.ServerName = "localhost"
							}
						}
						c := dialTest(t, s, opt)
						roundTrip(t, c, st)
						if got := c.RemoteAddr(); got == "" || c.GetConn() == nil {
							t.Fatalf("RemoteAddr %q, conn %v", got, c.GetConn())
						}
					})
				}
			}
		})
	}
}

func TestClientGo(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := dialTest(t, s, DefaultOption)
	ctx := context.Background()

	t.Run("nil done", func(t *testing.T) {
		var reply echoArgs
		call := c.Go(ctx, "S", "Echo", &echoArgs{A: 1}, &reply, nil)
		if cap(call.Done) != 10 {
			t.Fatalf("done cap %d", cap(call.Done))
		}
		got := <-call.Done
		if got != call || got.Error != nil || reply.A != 1 {
			t.Fatalf("call %+v reply %+v", got, reply)
		}
	})
	t.Run("shared done", func(t *testing.T) {
		done := make(chan *Call, 5)
		replies := make([]echoArgs, 5)
		for i := range replies {
			c.Go(ctx, "S", "Echo", &echoArgs{A: i}, &replies[i], done)
		}
		for range replies {
			if call := <-done; call.Error != nil {
				t.Fatal(call.Error)
			}
		}
		for i, r := range replies {
			if r.A != i {
				t.Fatalf("reply %d = %d", i, r.A)
			}
		}
	})
	t.Run("unbuffered done", func(t *testing.T) {
		done := make(chan *Call)
		call := c.Go(ctx, "S", "Echo", &echoArgs{}, new(ignored), done)
		if got := <-done; got != call || !errors.Is(got.Error, ErrUnbufferedDone) {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("error response", func(t *testing.T) {
		call := <-c.Go(ctx, "S", "Error", &echoArgs{}, new(ignored), nil).Done
		if !IsServiceError(call.Error) || call.Error.Error() != "boom" || call.ResMetadata["k"] != "v" {
			t.Fatalf("error %v, res meta %v", call.Error, call.ResMetadata)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		before := c.pendingLen()
		cctx, cancel := context.WithCancel(ctx)
		md := map[string]string{"ms": "10000"}
		call := c.Go(context.WithValue(cctx, share.ReqMetaDataKey, md), "S", "Sleep", &echoArgs{}, new(ignored), nil)
		cancel()
		got := <-call.Done
		if !errors.Is(got.Error, context.Canceled) {
			t.Fatalf("error %v", got.Error)
		}
		if n := c.pendingLen(); n != before {
			t.Fatalf("pending %d, want %d", n, before)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		before := c.pendingLen()
		md := map[string]string{"ms": "10000"}
		// A deadline already past when the request is built fails the call
		// before it is sent (no DeadlineKey); on a loaded machine 20 ms can
		// pass first, so the budget doubles until the request went out.
		for timeout := 20 * time.Millisecond; ; timeout *= 2 {
			dctx, cancel := context.WithTimeout(context.WithValue(ctx, share.ReqMetaDataKey, md), timeout)
			got := <-c.Go(dctx, "S", "Sleep", &echoArgs{}, new(ignored), nil).Done
			cancel()
			if !errors.Is(got.Error, context.DeadlineExceeded) {
				t.Fatalf("error %v, sent metadata %v", got.Error, got.Metadata)
			}
			if got.Metadata[share.DeadlineKey] != "" {
				break
			}
			if timeout > 5*time.Second {
				t.Fatalf("with a %v deadline the request was still not sent (metadata %v)", timeout, got.Metadata)
			}
		}
		if n := c.pendingLen(); n != before {
			t.Fatalf("pending %d, want %d", n, before)
		}
	})
}

// rawTestSetup dials the test server and returns a raw JSON request for
// S.Meta with metadata a=1.
func rawTestSetup(t *testing.T) (*testServer, *Client, *protocol.Message) {
	t.Helper()
	s := startTestServer(t, "memu", nil)
	c := dialTest(t, s, DefaultOption)
	req := protocol.NewMessage()
	req.SetSerializeType(protocol.JSON)
	req.ServicePath, req.ServiceMethod = "S", "Meta"
	req.Metadata = map[string]string{"a": "1"}
	req.Payload = []byte(`{"A":1}`)
	return s, c, req
}

func TestClientSendRaw(t *testing.T) {
	s, c, req := rawTestSetup(t)
	ctx := context.Background()
	h, payload, err := c.SendRaw(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != `{"A":1}` || h[XServiceMethod] != "Meta" || h[XMessageStatusType] != "Normal" ||
		h[XSerializeType] != "1" || h[XMeta] != "a=1" || h[XMessageID] == "" {
		t.Fatalf("headers %v payload %q", h, payload)
	}
	if req.Seq() != 0 || len(req.Metadata) != 1 {
		t.Fatal("SendRaw modified the caller's message")
	}

	req.ServiceMethod = "Error"
	h, _, err = c.SendRaw(ctx, req)
	if !IsServiceError(err) || h[XErrorMessage] != "boom" || h[XMessageStatusType] != "Error" {
		t.Fatalf("err %v headers %v", err, h)
	}

	req.ServiceMethod = "Oneway"
	req.SetOneway(true)
	if h, p, err := c.SendRaw(ctx, req); err != nil || h != nil || p != nil {
		t.Fatalf("oneway: %v %v %v", h, p, err)
	}
	select {
	case m := <-s.onewayCh:
		if m.ServiceMethod != "Oneway" || m.Metadata["a"] != "1" {
			t.Fatalf("oneway arrived as %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("oneway request never arrived")
	}
	if _, _, err := c.SendRaw(ctx, &protocol.Message{}); err == nil {
		t.Fatal("message without header accepted")
	}
	if n := c.pendingLen(); n != 0 {
		t.Fatalf("pending %d after oneway", n)
	}
}

func TestClientSendRawMessage(t *testing.T) {
	s, c, req := rawTestSetup(t)
	ctx := context.Background()
	res, err := c.SendRawMessage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Payload) != `{"A":1}` || res.ServiceMethod != "Meta" || res.Metadata["a"] != "1" ||
		res.MessageStatusType() != protocol.Normal || res.SerializeType() != protocol.JSON || res.Seq() == 0 {
		t.Fatalf("response %v", res)
	}
	protocol.FreeMsg(res)
	if req.Seq() != 0 || len(req.Metadata) != 1 {
		t.Fatal("SendRawMessage modified the caller's message")
	}

	req.ServiceMethod = "Error"
	res, err = c.SendRawMessage(ctx, req)
	if !IsServiceError(err) || err.Error() != "boom" || res == nil || res.MessageStatusType() != protocol.Error {
		t.Fatalf("error response: %v %v", res, err)
	}

	req.ServiceMethod = "Oneway"
	req.SetOneway(true)
	if res, err := c.SendRawMessage(ctx, req); err != nil || res != nil {
		t.Fatalf("oneway: %v %v", res, err)
	}
	<-s.onewayCh
	if res, err := c.SendRawMessage(ctx, &protocol.Message{}); err == nil || res != nil {
		t.Fatalf("message without header: %v %v", res, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	req.SetOneway(false)
	if res, err := c.SendRawMessage(cctx, req); !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("cancelled context: %v %v", res, err)
	}
	if n := c.pendingLen(); n != 0 {
		t.Fatalf("pending %d", n)
	}
}

func TestClientMetadata(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := dialTest(t, s, DefaultOption)

	reqMeta := map[string]string{"trace": "abc"}
	resMeta := map[string]string{}
	ctx := context.WithValue(context.Background(), share.ReqMetaDataKey, reqMeta)
	ctx = context.WithValue(ctx, share.ResMetaDataKey, resMeta)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var reply echoArgs
	if err := c.Call(ctx, "S", "Meta", &echoArgs{A: 3}, &reply); err != nil {
		t.Fatal(err)
	}
	if resMeta["trace"] != "abc" || resMeta[share.ServerAddress] != c.RemoteAddr() {
		t.Fatalf("response metadata %v", resMeta)
	}
	ms, err := strconv.Atoi(resMeta[share.DeadlineKey])
	if err != nil || ms < 1 || ms > 2000 {
		t.Fatalf("deadline sent as %q", resMeta[share.DeadlineKey])
	}
	if len(reqMeta) != 1 {
		t.Fatalf("caller's request map modified: %v", reqMeta)
	}

	// Without a deadline no DeadlineKey is sent.
	resMeta2 := map[string]string{}
	ctx2 := context.WithValue(context.Background(), share.ReqMetaDataKey, reqMeta)
	ctx2 = context.WithValue(ctx2, share.ResMetaDataKey, resMeta2)
	if err := c.Call(ctx2, "S", "Meta", &echoArgs{}, new(ignored)); err != nil {
		t.Fatal(err)
	}
	if _, ok := resMeta2[share.DeadlineKey]; ok || resMeta2["trace"] != "abc" {
		t.Fatalf("response metadata %v", resMeta2)
	}

	// An expired deadline fails before anything is sent.
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if err := c.Call(past, "S", "Echo", &echoArgs{}, new(ignored)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired ctx: %v", err)
	}
}

func TestDeadlineMillis(t *testing.T) {
	tests := []struct {
		rem  time.Duration
		want int64
	}{
		{time.Nanosecond, 1},
		{300 * time.Microsecond, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{time.Second, 1000},
		{time.Hour, 3600000},
	}
	for _, tt := range tests {
		t.Run(tt.rem.String(), func(t *testing.T) {
			if got := deadlineMillis(tt.rem); got != tt.want {
				t.Fatalf("deadlineMillis(%v) = %d, want %d", tt.rem, got, tt.want)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	m := protocol.NewMessage()
	caller := map[string]string{"x": "y"}
	err := setRequestMetadata(ctx, m, caller)
	k, v := m.ExtraMetadata()
	if got, _ := strconv.ParseInt(v, 10, 64); err != nil || k != share.DeadlineKey || got < 3590000 || got > 3600000 || m.Metadata["x"] != "y" {
		t.Fatalf("metadata %v + %s=%s, err %v", m.Metadata, k, v, err)
	}
	if len(caller) != 1 {
		t.Fatalf("the caller's map was changed: %v", caller)
	}
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if err := setRequestMetadata(past, protocol.NewMessage(), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := dialTest(t, s, DefaultOption)
	ctx := context.Background()
	tests := []struct {
		name     string
		method   string
		md       map[string]string
		code     share.Code
		service  bool
		draining bool
	}{
		{"plain service error", "Error", nil, share.CodeUnknown, true, false},
		{"coded service error", "Error", map[string]string{"code": "5"}, share.CodeNotFound, true, false},
		{"drain rejection", "Reject", nil, share.CodeUnavailable, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cctx := ctx
			if tt.md != nil {
				cctx = context.WithValue(ctx, share.ReqMetaDataKey, tt.md)
			}
			c := dialTest(t, s, DefaultOption)
			err := c.Call(cctx, "S", tt.method, &echoArgs{}, new(ignored))
			if err == nil {
				t.Fatal("no error")
			}
			if IsServiceError(err) != tt.service || errors.Is(err, ErrDraining) != tt.draining || share.CodeOf(err) != tt.code {
				t.Fatalf("err %v: service %t draining %t code %v", err, IsServiceError(err), errors.Is(err, ErrDraining), share.CodeOf(err))
			}
			// A drain rejection also tells the client the server drains.
			if c.IsClosing() != tt.draining {
				t.Fatalf("IsClosing %t after %v", c.IsClosing(), err)
			}
		})
	}

	t.Run("unsupported codec", func(t *testing.T) {
		opt := DefaultOption
		opt.SerializeType = 9
		c2 := dialTest(t, s, opt)
		if err := c2.Call(ctx, "S", "Echo", 1, new(ignored)); !errors.Is(err, ErrUnsupportedCodec) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad args", func(t *testing.T) {
		opt := DefaultOption
		opt.SerializeType = protocol.ProtoBuffer
		c2 := dialTest(t, s, opt)
		if err := c2.Call(ctx, "S", "Echo", &echoArgs{}, new(ignored)); err == nil || IsServiceError(err) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad reply", func(t *testing.T) {
		var reply int
		if err := c.Call(ctx, "S", "Echo", "text", &reply); err == nil || IsServiceError(err) {
			t.Fatalf("err %v", err)
		}
		if err := c.Call(ctx, "S", "Echo", &echoArgs{}, new(ignored)); err != nil {
			t.Fatalf("client unusable after a decode error: %v", err)
		}
	})
}

func TestClientErrorFunc(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	old := ClientErrorFunc
	ClientErrorFunc = func(res *protocol.Message, e string) ServiceError { return NewServiceError("custom: " + e) }
	c := dialTest(t, s, DefaultOption)
	ClientErrorFunc = old
	if err := c.Call(context.Background(), "S", "Error", &echoArgs{}, new(ignored)); err == nil || err.Error() != "custom: boom" {
		t.Fatalf("err %v", err)
	}
}

func TestClientMaxMessageLength(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	opt := DefaultOption
	opt.MaxMessageLength = 4096
	c := dialTest(t, s, opt)
	ctx := context.WithValue(context.Background(), share.ReqMetaDataKey, map[string]string{"size": "10000"})
	err := c.Call(ctx, "S", "Big", &echoArgs{}, new(ignored))
	if !errors.Is(err, ErrShutdown) || !errors.Is(err, protocol.ErrMessageTooLong) {
		t.Fatalf("err %v", err)
	}
	if !c.IsShutdown() {
		t.Fatal("client not shut down after a too long frame")
	}
}

func TestInvoke(t *testing.T) {
	s := startTestServer(t, "memu", nil)
	c := dialTest(t, s, DefaultOption)
	res, err := Invoke[echoArgs, echoArgs](context.Background(), c, "S", "Echo", &echoArgs{A: 42, S: "x"})
	if err != nil || res.A != 42 || res.S != "x" {
		t.Fatalf("res %+v err %v", res, err)
	}
	if _, err := Invoke[echoArgs, echoArgs](context.Background(), c, "S", "Error", &echoArgs{}); !IsServiceError(err) {
		t.Fatalf("err %v", err)
	}
}

func TestRawHeadersHeartbeatOneway(t *testing.T) {
	m := protocol.NewMessage()
	m.SetHeartbeat(true)
	m.SetOneway(true)
	m.SetSeq(9)
	h := rawHeaders(m)
	if h[XHeartbeat] != "true" || h[XOneway] != "true" || h[XMessageID] != "9" || h[XMeta] != "" {
		t.Fatalf("headers %v", h)
	}
	if !bytes.Equal([]byte(XMessageType), []byte("X-RPCX-MesssageType")) {
		t.Fatal("XMessageType lost rpcx's spelling")
	}
}
