// Package codec holds the Codec interface and the codecs for each rpcx
// serialize type: raw bytes, JSON, protocol buffers, MessagePack (the
// default) and a Thrift-shaped codec. A custom codec is any type with Encode
// and Decode; register it with share.RegisterCodec (or, as in rpcx, by
// assigning share.Codecs before servers and clients are created).
package codec

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/proto"
)

// Codec encodes values to bytes and decodes bytes into values. Codecs must
// be safe for concurrent use.
type Codec interface {
	Encode(i interface{}) ([]byte, error)
	Decode(data []byte, i interface{}) error
}

// Appender is implemented by codecs that can encode into a buffer the
// caller reuses, which saves an allocation per message: courier's server
// encodes replies, and its client requests, into the pooled message's own
// buffer. EncodeAppend appends the encoding of i to dst and returns the
// extended slice. The result may not share dst's memory (when dst is too
// small, or when the codec cannot append and returns a fresh encoding), but
// it always belongs to the caller: it never aliases i or codec state.
// The built-in JSON, protobuf and MessagePack codecs implement it.
type Appender interface {
	EncodeAppend(dst []byte, i interface{}) ([]byte, error)
}

// AppendEncode encodes i with c, appending to dst when c is an Appender
// (else dst is not used). owned reports that the result belongs to the
// caller, which may then reuse its memory; when it is false the result may
// alias i (ByteCodec returns a []byte argument itself).
func AppendEncode(c Codec, dst []byte, i interface{}) (b []byte, owned bool, err error) {
	if a, ok := c.(Appender); ok {
		b, err = a.EncodeAppend(dst, i)
		return b, err == nil, err
	}
	b, err = c.Encode(i)
	return b, false, err
}

// ErrUnsupportedType is returned (wrapped) when a codec cannot handle a value's type.
var ErrUnsupportedType = errors.New("codec: unsupported type")

// ByteCodec passes []byte through unchanged. Encode takes []byte or *[]byte
// (or a string); Decode takes *[]byte and copies the data.
type ByteCodec struct{}

// Encode returns i's bytes.
func (c ByteCodec) Encode(i interface{}) ([]byte, error) {
	switch v := i.(type) {
	case []byte:
		return v, nil
	case *[]byte:
		return *v, nil
	case string:
		return []byte(v), nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %T is not []byte", ErrUnsupportedType, i)
}

// Decode copies data into *[]byte (or *string).
func (c ByteCodec) Decode(data []byte, i interface{}) error {
	switch v := i.(type) {
	case *[]byte:
		*v = append((*v)[:0], data...)
		return nil
	case *string:
		*v = string(data)
		return nil
	}
	return fmt.Errorf("%w: %T is not *[]byte", ErrUnsupportedType, i)
}

// JSONCodec uses encoding/json.
type JSONCodec struct{}

// Encode marshals i to JSON.
func (c JSONCodec) Encode(i interface{}) ([]byte, error) { return json.Marshal(i) }

// EncodeAppend returns the JSON encoding of i in a new slice (encoding/json
// cannot append to a caller's buffer); it implements Appender.
func (c JSONCodec) EncodeAppend(_ []byte, i interface{}) ([]byte, error) { return json.Marshal(i) }

// Decode unmarshals JSON into i. Numbers inside interface{} values become
// json.Number (as in rpcx), so large integers keep their precision.
func (c JSONCodec) Decode(data []byte, i interface{}) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(i)
}

// PBCodec uses protocol buffers. It accepts google.golang.org/protobuf
// messages and any type with gogo-style Marshal/Unmarshal methods.
type PBCodec struct{}

type gogoMarshaler interface{ Marshal() ([]byte, error) }
type gogoUnmarshaler interface{ Unmarshal([]byte) error }

// Encode marshals i as protobuf.
func (c PBCodec) Encode(i interface{}) ([]byte, error) {
	switch v := i.(type) {
	case proto.Message:
		return proto.Marshal(v)
	case gogoMarshaler:
		return v.Marshal()
	}
	return nil, fmt.Errorf("%w: %T is not a proto.Message", ErrUnsupportedType, i)
}

// gogoSizedMarshaler is the allocation-free marshaling gogo/protobuf
// generates next to Marshal.
type gogoSizedMarshaler interface {
	Size() int
	MarshalTo([]byte) (int, error)
}

// EncodeAppend appends the protobuf encoding of i to dst; it implements
// Appender.
func (c PBCodec) EncodeAppend(dst []byte, i interface{}) ([]byte, error) {
	switch v := i.(type) {
	case proto.Message:
		return proto.MarshalOptions{}.MarshalAppend(dst, v)
	case gogoSizedMarshaler:
		n := v.Size()
		dst = slices.Grow(dst, n)
		k, err := v.MarshalTo(dst[len(dst) : len(dst)+n])
		if err != nil {
			return nil, err
		}
		return dst[:len(dst)+k], nil
	case gogoMarshaler:
		return v.Marshal()
	}
	return nil, fmt.Errorf("%w: %T is not a proto.Message", ErrUnsupportedType, i)
}

// Decode unmarshals protobuf data into i.
func (c PBCodec) Decode(data []byte, i interface{}) error {
	switch v := i.(type) {
	case proto.Message:
		return proto.Unmarshal(data, v)
	case gogoUnmarshaler:
		return v.Unmarshal(data)
	}
	return fmt.Errorf("%w: %T is not a proto.Message", ErrUnsupportedType, i)
}

// MsgpackCodec uses github.com/vmihailenco/msgpack/v5. It is the default.
type MsgpackCodec struct{}

// Encode marshals i to MessagePack.
// Types generated by tinylib/msgp (MarshalMsg/UnmarshalMsg) are encoded by
// their own methods, as in rpcx.
func (c MsgpackCodec) Encode(i interface{}) ([]byte, error) {
	if m, ok := i.(msgpMarshaler); ok {
		return m.MarshalMsg(nil)
	}
	return msgpack.Marshal(i)
}

// EncodeAppend appends the MessagePack encoding of i to dst; it implements
// Appender. The encoding is byte for byte the one of Encode.
func (c MsgpackCodec) EncodeAppend(dst []byte, i interface{}) ([]byte, error) {
	if m, ok := i.(msgpMarshaler); ok {
		return m.MarshalMsg(dst)
	}
	a := msgpackAppenders.Get().(*msgpackAppender)
	a.w.b = dst
	a.enc.Reset(&a.w) // the state Marshal starts from
	err := a.enc.Encode(i)
	b := a.w.b
	a.w.b = nil
	msgpackAppenders.Put(a)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// msgpackAppender is a pooled MessagePack encoder that appends to a slice.
type msgpackAppender struct {
	enc *msgpack.Encoder
	w   appendWriter
}

var msgpackAppenders = sync.Pool{New: func() any {
	a := &msgpackAppender{}
	a.enc = msgpack.NewEncoder(&a.w)
	return a
}}

// appendWriter appends what is written to b. It has the byte and string
// writers msgpack uses directly, so the encoder adds no buffering.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// Decode unmarshals MessagePack data into i.
func (c MsgpackCodec) Decode(data []byte, i interface{}) error {
	if m, ok := i.(msgpUnmarshaler); ok {
		_, err := m.UnmarshalMsg(data)
		return err
	}
	return msgpack.Unmarshal(data, i)
}

type msgpMarshaler interface{ MarshalMsg([]byte) ([]byte, error) }
type msgpUnmarshaler interface {
	UnmarshalMsg([]byte) ([]byte, error)
}

// ThriftCodec carries serialize type 4. courier does not link Apache Thrift:
// values are encoded through encoding.BinaryMarshaler/BinaryUnmarshaler
// (a Thrift-generated struct wrapped to serialize itself) or passed through
// as []byte, so a user can plug a real Thrift serializer into those methods.
type ThriftCodec struct{}

// Encode marshals i with its MarshalBinary method, or passes []byte through.
func (c ThriftCodec) Encode(i interface{}) ([]byte, error) {
	if m, ok := i.(encoding.BinaryMarshaler); ok {
		return m.MarshalBinary()
	}
	return ByteCodec{}.Encode(i)
}

// Decode unmarshals data with i's UnmarshalBinary method, or into *[]byte.
func (c ThriftCodec) Decode(data []byte, i interface{}) error {
	if m, ok := i.(encoding.BinaryUnmarshaler); ok {
		return m.UnmarshalBinary(data)
	}
	return ByteCodec{}.Decode(data, i)
}

// IsNilValue reports whether i is nil or a nil pointer; codecs cannot
// decode into it.
func IsNilValue(i interface{}) bool {
	if i == nil {
		return true
	}
	v := reflect.ValueOf(i)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
