package testsvc

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// PBArgs is the proto3 message
//
//	message Args { int64 a = 1; int64 b = 2; }
//
// hand-coded with gogo-style Marshal/Unmarshal methods, which both rpcx's
// and courier's PBCodec accept. A test checks its bytes against the
// protobuf runtime (dynamicpb).
type PBArgs struct {
	A int64
	B int64
}

// PBReply is the proto3 message `message Reply { int64 c = 1; }`.
type PBReply struct {
	C int64
}

// Marshal encodes m in protobuf wire format (zero fields omitted, as proto3
// does).
func (m *PBArgs) Marshal() ([]byte, error) {
	var b []byte
	b = appendInt(b, 1, m.A)
	b = appendInt(b, 2, m.B)
	return b, nil
}

// Unmarshal decodes protobuf wire format into m; unknown fields are skipped.
func (m *PBArgs) Unmarshal(b []byte) error {
	*m = PBArgs{}
	return parse(b, func(num protowire.Number, v int64) {
		switch num {
		case 1:
			m.A = v
		case 2:
			m.B = v
		}
	})
}

// Marshal encodes m in protobuf wire format.
func (m *PBReply) Marshal() ([]byte, error) {
	return appendInt(nil, 1, m.C), nil
}

// Unmarshal decodes protobuf wire format into m.
func (m *PBReply) Unmarshal(b []byte) error {
	*m = PBReply{}
	return parse(b, func(num protowire.Number, v int64) {
		if num == 1 {
			m.C = v
		}
	})
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// parse walks the fields of b, handing varint fields to set and skipping
// the others.
func parse(b []byte, set func(protowire.Number, int64)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("pb: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("pb: bad varint: %w", protowire.ParseError(n))
			}
			set(num, int64(v))
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("pb: bad field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}
