package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/courier-rpc/courier/codec"
)

// gogoSized has the Size/MarshalTo pair gogo/protobuf generates.
type gogoSized struct{ gogoArgs }

func (g *gogoSized) Size() int { return len("gogo:" + g.v) }
func (g *gogoSized) MarshalTo(b []byte) (int, error) {
	return copy(b, "gogo:"+g.v), nil
}

// TestEncodeAppendMatchesEncode checks that every Appender appends exactly
// Encode's bytes after what dst holds, and leaves dst's prefix alone.
func TestEncodeAppendMatchesEncode(t *testing.T) {
	big := &Args{A: 1 << 40, B: -3, S: string(bytes.Repeat([]byte("s"), 300))}
	tests := []struct {
		name string
		c    codec.Codec
		in   any
	}{
		{"json", codec.JSONCodec{}, &Args{1, 2, "x"}},
		{"protobuf", codec.PBCodec{}, wrapperspb.String("hello")},
		{"protobuf empty", codec.PBCodec{}, wrapperspb.String("")},
		{"gogo Marshal", codec.PBCodec{}, &gogoArgs{"x"}},
		{"gogo MarshalTo", codec.PBCodec{}, &gogoSized{gogoArgs{"y"}}},
		{"msgpack struct", codec.MsgpackCodec{}, big},
		{"msgpack map", codec.MsgpackCodec{}, map[string]any{"k": []int{1, 2}}},
		{"msgpack msgp type", codec.MsgpackCodec{}, &msgpArgs{"z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := tt.c.(codec.Appender)
			if !ok {
				t.Fatalf("%T does not implement Appender", tt.c)
			}
			want, err := tt.c.Encode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, capacity := range []int{0, 4, 1024} {
				dst := append(make([]byte, 0, capacity), "pre"...)
				got, err := a.EncodeAppend(dst, tt.in)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.HasPrefix(got, []byte("pre")) {
					got = got[3:] // appended after the prefix
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("cap %d: EncodeAppend = %q, Encode = %q", capacity, got, want)
				}
				if string(dst) != "pre" {
					t.Fatalf("dst changed to %q", dst)
				}
			}
		})
	}
}

func TestEncodeAppendErrors(t *testing.T) {
	if _, err := (codec.PBCodec{}).EncodeAppend(nil, 42); !errors.Is(err, codec.ErrUnsupportedType) {
		t.Fatalf("protobuf of an int: %v, want ErrUnsupportedType", err)
	}
	if _, err := (codec.MsgpackCodec{}).EncodeAppend(nil, make(chan int)); err == nil {
		t.Fatal("msgpack of a channel: no error")
	}
	if _, err := (codec.JSONCodec{}).EncodeAppend(nil, make(chan int)); err == nil {
		t.Fatal("json of a channel: no error")
	}
	// The pooled msgpack encoder works after a failure.
	b, err := (codec.MsgpackCodec{}).EncodeAppend(nil, "ok")
	want, _ := (codec.MsgpackCodec{}).Encode("ok")
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("after an error: %q, %v; want %q", b, err, want)
	}
}

// TestEncodeAppendAllocs checks the point of Appender: with room in dst, a
// protobuf or MessagePack encoding allocates nothing of its own.
func TestEncodeAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	dst := make([]byte, 0, 4096)
	pb := wrapperspb.String("hello")
	if n := testing.AllocsPerRun(100, func() { _, _ = codec.PBCodec{}.EncodeAppend(dst, pb) }); n != 0 {
		t.Errorf("protobuf EncodeAppend: %v allocs, want 0", n)
	}
	args := &Args{A: 1, B: 2, S: "three"}
	if n := testing.AllocsPerRun(100, func() { _, _ = codec.MsgpackCodec{}.EncodeAppend(dst, args) }); n > 0 {
		t.Errorf("msgpack EncodeAppend: %v allocs, want 0", n)
	}
}
