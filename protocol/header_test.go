package protocol

import (
	"math"
	"testing"
)

// fullHeader has every bit of bytes 2 and 3 set, so setters must clear.
func fullHeader() Header { return Header{magicNumber, 0, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8} }

func TestMagicNumber(t *testing.T) {
	if MagicNumber() != 0x08 {
		t.Fatalf("MagicNumber = %#x", MagicNumber())
	}
	h := Header{}
	if h.CheckMagicNumber() {
		t.Fatal("zero header has magic")
	}
	h[0] = 0x08
	if !h.CheckMagicNumber() {
		t.Fatal("magic not recognised")
	}
	if m := NewMessage(); !m.CheckMagicNumber() || m.Version() != 0 {
		t.Fatalf("NewMessage header % x", m.Header[:])
	}
}

func TestHeaderVersion(t *testing.T) {
	h := fullHeader()
	for _, v := range []byte{0, 1, 0xFF} {
		h.SetVersion(v)
		if h.Version() != v || h[1] != v {
			t.Fatalf("SetVersion(%d): got %d", v, h.Version())
		}
	}
}

// TestHeaderFlagSetters checks each setter against the exact byte it must
// produce from an all-zero and an all-one flags byte.
func TestHeaderFlagSetters(t *testing.T) {
	tests := []struct {
		name       string
		set        func(*Header)
		from, want [2]byte // bytes 2 and 3 before and after
	}{
		{"type response on zero", func(h *Header) { h.SetMessageType(Response) }, [2]byte{0, 0}, [2]byte{0x80, 0}},
		{"type request clears", func(h *Header) { h.SetMessageType(Request) }, [2]byte{0xFF, 0xFF}, [2]byte{0x7F, 0xFF}},
		{"type masks to 1 bit", func(h *Header) { h.SetMessageType(MessageType(2)) }, [2]byte{0xFF, 0}, [2]byte{0x7F, 0}},
		{"heartbeat on", func(h *Header) { h.SetHeartbeat(true) }, [2]byte{0, 0}, [2]byte{0x40, 0}},
		{"heartbeat off", func(h *Header) { h.SetHeartbeat(false) }, [2]byte{0xFF, 0xFF}, [2]byte{0xBF, 0xFF}},
		{"oneway on", func(h *Header) { h.SetOneway(true) }, [2]byte{0, 0}, [2]byte{0x20, 0}},
		{"oneway off", func(h *Header) { h.SetOneway(false) }, [2]byte{0xFF, 0xFF}, [2]byte{0xDF, 0xFF}},
		{"gzip on zero", func(h *Header) { h.SetCompressType(Gzip) }, [2]byte{0, 0}, [2]byte{0x04, 0}},
		{"none clears", func(h *Header) { h.SetCompressType(None) }, [2]byte{0xFF, 0xFF}, [2]byte{0xE3, 0xFF}},
		{"gzip on ones", func(h *Header) { h.SetCompressType(Gzip) }, [2]byte{0xFF, 0}, [2]byte{0xE7, 0}},
		{"compress masks to 3 bits", func(h *Header) { h.SetCompressType(CompressType(0xFF)) }, [2]byte{0, 0}, [2]byte{0x1C, 0}},
		{"status error", func(h *Header) { h.SetMessageStatusType(Error) }, [2]byte{0, 0}, [2]byte{0x01, 0}},
		{"status normal clears", func(h *Header) { h.SetMessageStatusType(Normal) }, [2]byte{0xFF, 0xFF}, [2]byte{0xFC, 0xFF}},
		{"status masks to 2 bits", func(h *Header) { h.SetMessageStatusType(MessageStatusType(0xFF)) }, [2]byte{0, 0}, [2]byte{0x03, 0}},
		{"serialize msgpack", func(h *Header) { h.SetSerializeType(MsgPack) }, [2]byte{0, 0}, [2]byte{0, 0x30}},
		{"serialize keeps low nibble", func(h *Header) { h.SetSerializeType(JSON) }, [2]byte{0xFF, 0xFF}, [2]byte{0xFF, 0x1F}},
		{"serialize none clears", func(h *Header) { h.SetSerializeType(SerializeNone) }, [2]byte{0, 0xF5}, [2]byte{0, 0x05}},
		{"serialize masks to 4 bits", func(h *Header) { h.SetSerializeType(SerializeType(0x12)) }, [2]byte{0, 0}, [2]byte{0, 0x20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Header{magicNumber, 0, tt.from[0], tt.from[1], 9, 9, 9, 9, 9, 9, 9, 9}
			tt.set(&h)
			if h[2] != tt.want[0] || h[3] != tt.want[1] {
				t.Fatalf("bytes 2,3 = %02x %02x, want %02x %02x", h[2], h[3], tt.want[0], tt.want[1])
			}
			if h[0] != magicNumber || h[1] != 0 || h.Seq() != 0x0909090909090909 {
				t.Fatalf("setter touched other bytes: % x", h[:])
			}
		})
	}
}

func TestHeaderGetters(t *testing.T) {
	h := fullHeader()
	if h.MessageType() != Response || !h.IsHeartbeat() || !h.IsOneway() ||
		h.CompressType() != 7 || h.MessageStatusType() != 3 || h.SerializeType() != 15 {
		t.Fatalf("all-ones header decoded as %v", Message{Header: &h})
	}
	var z Header
	if z.MessageType() != Request || z.IsHeartbeat() || z.IsOneway() ||
		z.CompressType() != None || z.MessageStatusType() != Normal || z.SerializeType() != SerializeNone || z.Seq() != 0 {
		t.Fatal("zero header not all defaults")
	}
	// Every combination of settable values reads back unchanged.
	for mt := range 2 {
		for bits := range 4 {
			for ct := range 8 {
				for st := range 4 {
					for ser := range 16 {
						h := fullHeader()
						h.SetMessageType(MessageType(mt))
						h.SetHeartbeat(bits&1 != 0)
						h.SetOneway(bits&2 != 0)
						h.SetCompressType(CompressType(ct))
						h.SetMessageStatusType(MessageStatusType(st))
						h.SetSerializeType(SerializeType(ser))
						if h.MessageType() != MessageType(mt) || h.IsHeartbeat() != (bits&1 != 0) ||
							h.IsOneway() != (bits&2 != 0) || h.CompressType() != CompressType(ct) ||
							h.MessageStatusType() != MessageStatusType(st) || h.SerializeType() != SerializeType(ser) {
							t.Fatalf("mt=%d bits=%d ct=%d st=%d ser=%d: header % x", mt, bits, ct, st, ser, h[:])
						}
						if h[3]&0x0F != 0x0F {
							t.Fatalf("reserved nibble changed: %02x", h[3])
						}
					}
				}
			}
		}
	}
}

func TestHeaderSeq(t *testing.T) {
	for _, seq := range []uint64{0, 1, 0x0102030405060708, math.MaxUint64} {
		h := fullHeader()
		h.SetSeq(seq)
		if h.Seq() != seq {
			t.Fatalf("Seq = %d, want %d", h.Seq(), seq)
		}
		if h[2] != 0xFF || h[3] != 0xFF {
			t.Fatal("SetSeq touched flags")
		}
	}
	h := Header{}
	h.SetSeq(0x0102030405060708)
	if want := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}; [8]byte(h[4:]) != want {
		t.Fatalf("seq not big-endian: % x", h[4:])
	}
}

func TestTypeStrings(t *testing.T) {
	tests := map[SerializeType]string{
		SerializeNone: "raw", JSON: "json", ProtoBuffer: "protobuf", MsgPack: "msgpack", Thrift: "thrift", 9: "serialize(9)",
	}
	for st, want := range tests {
		if st.String() != want {
			t.Errorf("%d.String() = %q, want %q", st, st.String(), want)
		}
	}
	if SerializeNone != 0 || JSON != 1 || ProtoBuffer != 2 || MsgPack != 3 || Thrift != 4 ||
		None != 0 || Gzip != 1 || Request != 0 || Response != 1 || Normal != 0 || Error != 1 {
		t.Fatal("wire constant changed")
	}
}
