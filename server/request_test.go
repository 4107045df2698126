package server

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

func TestSerializeTypes(t *testing.T) {
	s := NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	if err := Handle(s, "Bytes", "Echo", func(ctx context.Context, req *[]byte, res *[]byte) error {
		*res = append([]byte("echo:"), *req...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := Handle(s, "Bin", "Echo", func(ctx context.Context, req *binVal, res *binVal) error {
		*res = *req + "!"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	args := &Args{A: 6, B: 7}
	for _, st := range []protocol.SerializeType{protocol.JSON, protocol.MsgPack} {
		t.Run(st.String(), func(t *testing.T) {
			cd := share.Codecs[st]
			p, err := cd.Encode(args)
			if err != nil {
				t.Fatal(err)
			}
			for _, method := range []string{"Mul", "Add"} {
				res := c.call(newReq("Arith", method, st, p, nil))
				if res.MessageType() != protocol.Response || res.SerializeType() != st || errText(res) != "" {
					t.Fatalf("bad response %s", res)
				}
				var r Reply
				if err := cd.Decode(res.Payload, &r); err != nil {
					t.Fatal(err)
				}
				want := map[string]int{"Mul": 42, "Add": 13}[method]
				if r.C != want {
					t.Fatalf("%s = %d, want %d", method, r.C, want)
				}
			}
		})
	}
	t.Run("raw", func(t *testing.T) {
		res := c.call(newReq("Bytes", "Echo", protocol.SerializeNone, []byte("hi"), nil))
		if string(res.Payload) != "echo:hi" {
			t.Fatalf("payload %q (%s)", res.Payload, errText(res))
		}
	})
	t.Run("thrift", func(t *testing.T) {
		res := c.call(newReq("Bin", "Echo", protocol.Thrift, []byte("x"), nil))
		if string(res.Payload) != "x!" {
			t.Fatalf("payload %q (%s)", res.Payload, errText(res))
		}
	})
	t.Run("protobuf", func(t *testing.T) {
		// PBCodec with gogo-style types; binVal implements Marshal/Unmarshal.
		res := c.call(newReq("Bin", "Echo", protocol.ProtoBuffer, []byte("p"), nil))
		if string(res.Payload) != "p!" {
			t.Fatalf("payload %q (%s)", res.Payload, errText(res))
		}
	})
	// rpcx compresses a reply only when the request was compressed and the
	// reply payload is over protocol.CompressThreshold bytes.
	for _, tc := range []struct {
		name   string
		ct     protocol.CompressType
		size   int // reply payload = "echo:" + size-5 bytes
		wantCT protocol.CompressType
	}{
		{"gzip small reply", protocol.Gzip, 11, protocol.None},
		{"gzip reply at threshold", protocol.Gzip, protocol.CompressThreshold, protocol.None},
		{"gzip reply over threshold", protocol.Gzip, protocol.CompressThreshold + 1, protocol.Gzip},
		{"plain request large reply", protocol.None, 4096, protocol.None},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(strings.Repeat("z", tc.size-len("echo:")))
			m := newReq("Bytes", "Echo", protocol.SerializeNone, body, nil)
			m.SetCompressType(tc.ct)
			res := c.call(m)
			if res.CompressType() != tc.wantCT || string(res.Payload) != "echo:"+string(body) {
				t.Fatalf("response %s (compress %d, want %d) payload %d bytes", res, res.CompressType(), tc.wantCT, len(res.Payload))
			}
		})
	}
}

// binVal serializes itself for the thrift and protobuf codecs.
type binVal string

func (b binVal) MarshalBinary() ([]byte, error)  { return []byte(b), nil }
func (b *binVal) UnmarshalBinary(d []byte) error { *b = binVal(d); return nil }
func (b *binVal) Marshal() ([]byte, error)       { return []byte(*b), nil }
func (b *binVal) Unmarshal(d []byte) error       { *b = binVal(d); return nil }
func (b binVal) String() string                  { return string(b) }

var _ codec.Codec = codec.ThriftCodec{}

func TestHeartbeatAndOneway(t *testing.T) {
	hits := make(chan int, 1)
	s := NewServer()
	if err := HandleFunc(s, "T", "Oneway", func(ctx context.Context, a *Args) (*Reply, error) {
		hits <- a.A
		return &Reply{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	hb := newReq("", "", protocol.SerializeNone, []byte("ping"), nil)
	hb.SetHeartbeat(true)
	res := c.call(hb)
	if !res.IsHeartbeat() || res.MessageType() != protocol.Response || string(res.Payload) != "ping" {
		t.Fatalf("heartbeat response %s %q", res, res.Payload)
	}
	ow := newReq("T", "Oneway", protocol.JSON, []byte(`{"A":5}`), nil)
	ow.SetOneway(true)
	c.send(ow)
	if got := <-hits; got != 5 {
		t.Fatalf("oneway got %d", got)
	}
	// The next response on the wire answers the next call, not the oneway one.
	hb2 := newReq("", "", protocol.SerializeNone, []byte("pong"), nil)
	hb2.SetHeartbeat(true)
	if res := c.call(hb2); string(res.Payload) != "pong" {
		t.Fatalf("got %q", res.Payload)
	}
	if st := s.Stats(); st.Heartbeats != 2 || st.Requests != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMetadataBothWays(t *testing.T) {
	_, addr := newArithServer(t)
	c := dialRaw(t, addr)
	res := c.call(newReq("Arith", "Meta", protocol.JSON, []byte(`{}`), map[string]string{"k": "v1"}))
	if res.Metadata["echo"] != "v1" || errText(res) != "" {
		t.Fatalf("metadata %v (%s)", res.Metadata, errText(res))
	}
}

func TestErrors(t *testing.T) {
	s := NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	var handled []error
	handledc := make(chan error, 10)
	s.HandleServiceError = func(err error) { handledc <- err }
	c := dialRaw(t, testServer(t, s))
	tests := []struct {
		path, method string
		payload      string
		text         string
		code         share.Code
	}{
		{"Arith", "Div", `{"A":1,"B":0}`, "divide by zero", share.CodeInvalidArgument},
		{"Arith", "Fail", `{}`, "plain failure", share.CodeUnknown},
		{"Arith", "Boom", `{}`, "[service internal error]: boom, method: Arith.Boom", share.CodeInternal},
		{"Nope", "Mul", `{}`, "rpcx: can't find service Nope", share.CodeUnimplemented},
		{"Arith", "Nope", `{}`, "rpcx: can't find method Nope", share.CodeUnimplemented},
		{"Arith", "Mul", `{bad json`, "", share.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.path+"."+tt.method, func(t *testing.T) {
			res := c.call(newReq(tt.path, tt.method, protocol.JSON, []byte(tt.payload), nil))
			if res.MessageStatusType() != protocol.Error {
				t.Fatalf("status normal: %s", res)
			}
			if tt.text != "" && errText(res) != tt.text && !(tt.code == share.CodeInternal && len(errText(res)) > len(tt.text) && errText(res)[:len(tt.text)] == tt.text) {
				t.Fatalf("text %q, want %q", errText(res), tt.text)
			}
			code, ok := res.Metadata[share.ErrorCodeKey]
			if tt.code == share.CodeUnknown {
				if ok {
					t.Fatalf("unexpected code %s", code)
				}
				return
			}
			if code != strconv.Itoa(int(tt.code)) {
				t.Fatalf("code %q, want %d", code, tt.code)
			}
		})
	}
	// The server survived the panic.
	p, _ := json.Marshal(&Args{A: 2, B: 3})
	if res := c.call(newReq("Arith", "Mul", protocol.JSON, p, nil)); string(res.Payload) != `{"C":6}` {
		t.Fatalf("after panic: %q %s", res.Payload, errText(res))
	}
	if s.Stats().Panics != 1 {
		t.Fatalf("panics %d", s.Stats().Panics)
	}
	for range 3 { // Div, Fail, Boom reach HandleServiceError
		handled = append(handled, <-handledc)
	}
	var ie RpcServiceInternalError
	if !errors.As(handled[2], &ie) || ie.Method != "Arith.Boom" {
		t.Fatalf("HandleServiceError got %v", handled)
	}
}

func TestServerErrorFunc(t *testing.T) {
	s := NewServer()
	s.ServerErrorFunc = func(res *protocol.Message, err error) string { return "custom: " + err.Error() }
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	if got := errText(c.call(newReq("Arith", "Fail", protocol.JSON, []byte(`{}`), nil))); got != "custom: plain failure" {
		t.Fatalf("text %q", got)
	}
}

func TestAuth(t *testing.T) {
	s := NewServer()
	s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
		if token != "secret" {
			return errors.New("invalid token")
		}
		return nil
	}
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	p := []byte(`{"A":3,"B":4}`)
	res := c.call(newReq("Arith", "Mul", protocol.JSON, p, nil))
	if errText(res) != "invalid token" || res.Metadata[share.ErrorCodeKey] != strconv.Itoa(int(share.CodeUnauthenticated)) {
		t.Fatalf("unauthenticated call: %s", res)
	}
	res = c.call(newReq("Arith", "Mul", protocol.JSON, p, map[string]string{share.AuthKey: "secret"}))
	if string(res.Payload) != `{"C":12}` {
		t.Fatalf("authenticated call: %s %q", res, res.Payload)
	}
}

func TestAddHandler(t *testing.T) {
	s := NewServer()
	s.AddHandler("H", "Mul", func(ctx *Context) error {
		var a Args
		if err := ctx.Bind(&a); err != nil {
			return err
		}
		if ctx.ServicePath() != "H" || ctx.ServiceMethod() != "Mul" || ctx.Metadata()["k"] != "v" {
			return errors.New("bad context")
		}
		ctx.Get(share.ResMetaDataKey).(map[string]string)["r"] = "1"
		return ctx.Write(&Reply{C: a.A * a.B})
	})
	s.AddHandler("H", "Err", func(ctx *Context) error { return share.NewError(share.CodeNotFound, "nothing") })
	s.AddHandler("H", "Silent", func(ctx *Context) error { return nil })
	c := dialRaw(t, testServer(t, s))
	res := c.call(newReq("H", "Mul", protocol.JSON, []byte(`{"A":2,"B":5}`), map[string]string{"k": "v"}))
	if string(res.Payload) != `{"C":10}` || res.Metadata["r"] != "1" {
		t.Fatalf("Mul: %s %q", res, res.Payload)
	}
	res = c.call(newReq("H", "Err", protocol.JSON, nil, nil))
	if errText(res) != "nothing" || res.Metadata[share.ErrorCodeKey] != "5" {
		t.Fatalf("Err: %s", res)
	}
	res = c.call(newReq("H", "Silent", protocol.JSON, nil, nil))
	if res.MessageStatusType() != protocol.Normal || len(res.Payload) != 0 {
		t.Fatalf("Silent: %s", res)
	}
	s.UpdateHandler(map[string]Handler{"H.Only": func(ctx *Context) error { return ctx.Write("only") }})
	if got := errText(c.call(newReq("H", "Mul", protocol.JSON, nil, nil))); got != "rpcx: can't find service H" {
		t.Fatalf("after UpdateHandler: %q", got)
	}
	if res := c.call(newReq("H", "Only", protocol.JSON, nil, nil)); string(res.Payload) != `"only"` {
		t.Fatalf("Only: %q", res.Payload)
	}
}
