package codec_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/courier-rpc/courier/codec"
)

type Args struct {
	A int    `json:"a" msgpack:"a"`
	B int    `json:"b" msgpack:"b"`
	S string `json:"s" msgpack:"s"`
}

// gogoArgs has gogo-protobuf-style Marshal/Unmarshal methods.
type gogoArgs struct{ v string }

func (g *gogoArgs) Marshal() ([]byte, error) { return []byte("gogo:" + g.v), nil }
func (g *gogoArgs) Unmarshal(b []byte) error {
	g.v = strings.TrimPrefix(string(b), "gogo:")
	return nil
}

// msgpArgs has tinylib/msgp-style methods; MsgpackCodec must use them.
type msgpArgs struct{ v string }

func (m *msgpArgs) MarshalMsg(b []byte) ([]byte, error) { return append(b, "msgp:"+m.v...), nil }
func (m *msgpArgs) UnmarshalMsg(b []byte) ([]byte, error) {
	m.v = strings.TrimPrefix(string(b), "msgp:")
	return nil, nil
}

// thriftArgs serializes itself, as a wrapped Thrift struct would.
type thriftArgs struct{ v string }

func (t *thriftArgs) MarshalBinary() ([]byte, error) { return []byte("thrift:" + t.v), nil }
func (t *thriftArgs) UnmarshalBinary(b []byte) error {
	t.v = strings.TrimPrefix(string(b), "thrift:")
	return nil
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		c       codec.Codec
		in      any
		out     func() any // fresh destination
		wantEnc string     // expected encoding, when fixed
	}{
		{"byte slice", codec.ByteCodec{}, []byte("raw"), func() any { return new([]byte) }, "raw"},
		{"byte slice pointer", codec.ByteCodec{}, &[]byte{1, 2}, func() any { return new([]byte) }, "\x01\x02"},
		{"byte string", codec.ByteCodec{}, "str", func() any { return new(string) }, "str"},
		{"json struct", codec.JSONCodec{}, &Args{1, 2, "x"}, func() any { return new(Args) }, `{"a":1,"b":2,"s":"x"}`},
		{"json map", codec.JSONCodec{}, map[string]int{"k": 1}, func() any { return &map[string]int{} }, `{"k":1}`},
		{"protobuf", codec.PBCodec{}, wrapperspb.String("hi"), func() any { return new(wrapperspb.StringValue) }, "\x0a\x02hi"},
		{"gogo protobuf", codec.PBCodec{}, &gogoArgs{"x"}, func() any { return new(gogoArgs) }, "gogo:x"},
		{"msgpack struct", codec.MsgpackCodec{}, &Args{10, 20, "y"}, func() any { return new(Args) }, ""},
		{"msgpack msgp type", codec.MsgpackCodec{}, &msgpArgs{"z"}, func() any { return new(msgpArgs) }, "msgp:z"},
		{"thrift marshaler", codec.ThriftCodec{}, &thriftArgs{"t"}, func() any { return new(thriftArgs) }, "thrift:t"},
		{"thrift bytes", codec.ThriftCodec{}, []byte{9}, func() any { return new([]byte) }, "\x09"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := tt.c.Encode(tt.in)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if tt.wantEnc != "" && string(b) != tt.wantEnc {
				t.Fatalf("Encode = %q, want %q", b, tt.wantEnc)
			}
			out := tt.out()
			if err := tt.c.Decode(b, out); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := tt.in
			if s, ok := want.(string); ok {
				want = &s
			} else if bs, ok := want.([]byte); ok {
				want = &bs
			} else if reflect.TypeOf(want).Kind() != reflect.Pointer {
				p := reflect.New(reflect.TypeOf(want))
				p.Elem().Set(reflect.ValueOf(want))
				want = p.Interface()
			}
			if pm, ok := want.(proto.Message); ok {
				if !proto.Equal(pm, out.(proto.Message)) {
					t.Fatalf("got %v, want %v", out, want)
				}
				return
			}
			if !reflect.DeepEqual(out, want) {
				t.Fatalf("got %#v, want %#v", out, want)
			}
		})
	}
}

func TestMsgpackInteroperates(t *testing.T) {
	// The default codec's encoding of a plain struct is MessagePack: a map
	// with the field names (what rpcx peers produce and expect).
	b, err := codec.MsgpackCodec{}.Encode(&Args{A: 10, B: 20})
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0x83 { // fixmap of 3 entries
		t.Fatalf("msgpack encoding % x does not start with a 3-entry map", b)
	}
	var m map[string]any
	if err := (codec.MsgpackCodec{}).Decode(b, &m); err != nil || len(m) != 3 {
		t.Fatalf("decode as map: %v %v", err, m)
	}
}

func TestByteCodecDecodeCopies(t *testing.T) {
	data := []byte("abc")
	var out []byte
	if err := (codec.ByteCodec{}).Decode(data, &out); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X'
	if string(out) != "abc" {
		t.Fatalf("Decode aliases its input: %q", out)
	}
	if b, err := (codec.ByteCodec{}).Encode(nil); err != nil || b != nil {
		t.Fatalf("Encode(nil) = %v, %v", b, err)
	}
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		name   string
		encode func() error
		decode func() error
		want   error // nil: any error
	}{
		{"byte codec int", func() error { _, err := codec.ByteCodec{}.Encode(42); return err },
			func() error { return codec.ByteCodec{}.Decode([]byte("x"), new(int)) }, codec.ErrUnsupportedType},
		{"byte codec non-pointer", nil,
			func() error { return codec.ByteCodec{}.Decode([]byte("x"), []byte{}) }, codec.ErrUnsupportedType},
		{"protobuf plain struct", func() error { _, err := codec.PBCodec{}.Encode(&Args{}); return err },
			func() error { return codec.PBCodec{}.Decode(nil, &Args{}) }, codec.ErrUnsupportedType},
		{"thrift int", func() error { _, err := codec.ThriftCodec{}.Encode(1); return err },
			func() error { return codec.ThriftCodec{}.Decode(nil, new(int)) }, codec.ErrUnsupportedType},
		{"json channel / bad data", func() error { _, err := codec.JSONCodec{}.Encode(make(chan int)); return err },
			func() error { return codec.JSONCodec{}.Decode([]byte("{"), &Args{}) }, nil},
		{"json non-pointer", nil, func() error { return codec.JSONCodec{}.Decode([]byte("{}"), Args{}) }, nil},
		{"msgpack func / bad data", func() error { _, err := codec.MsgpackCodec{}.Encode(func() {}); return err },
			func() error { return codec.MsgpackCodec{}.Decode([]byte{0xc1}, &Args{}) }, nil},
		{"protobuf bad data", nil,
			func() error { return codec.PBCodec{}.Decode([]byte{0xff, 0xff}, new(wrapperspb.StringValue)) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for what, f := range map[string]func() error{"Encode": tt.encode, "Decode": tt.decode} {
				if f == nil {
					continue
				}
				err := f()
				if err == nil {
					t.Fatalf("%s: no error", what)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Fatalf("%s: %v, want %v", what, err, tt.want)
				}
			}
		})
	}
}

func TestIsNilValue(t *testing.T) {
	var nilArgs *Args
	tests := []struct {
		v    any
		want bool
	}{{nil, true}, {nilArgs, true}, {&Args{}, false}, {Args{}, false}, {0, false}, {[]byte(nil), false}}
	for _, tt := range tests {
		if got := codec.IsNilValue(tt.v); got != tt.want {
			t.Errorf("IsNilValue(%#v) = %t, want %t", tt.v, got, tt.want)
		}
	}
}
