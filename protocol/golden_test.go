package protocol

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite protocol/testdata/*.golden from the current encoder")

// goldenCase is one canonical frame pinned in testdata/<name>.golden.
type goldenCase struct {
	name string
	msg  func() *Message
}

// newMsg builds a message; meta must have at most one key so that the
// encoding is deterministic (multi-key metadata order is unspecified).
func newMsg(mt MessageType, st SerializeType, seq uint64, path, method string, meta map[string]string, payload []byte) *Message {
	m := NewMessage()
	m.SetMessageType(mt)
	m.SetSerializeType(st)
	m.SetSeq(seq)
	m.ServicePath = path
	m.ServiceMethod = method
	m.Metadata = meta
	m.Payload = payload
	return m
}

// Payloads of the golden frames: Args{A: 10, B: 20} (and Reply{C: 200}) in
// each serialize type.
var (
	argsRaw     = []byte("hello")
	argsJSON    = []byte(`{"A":10,"B":20}`)
	argsPB      = []byte{0x08, 0x0a, 0x10, 0x14}                                                 // field 1 varint 10, field 2 varint 20
	argsMsgpack = []byte{0x82, 0xa1, 'A', 0x0a, 0xa1, 'B', 0x14}                                 // {"A":10,"B":20}
	argsThrift  = []byte{0x08, 0x00, 0x01, 0, 0, 0, 0x0a, 0x08, 0x00, 0x02, 0, 0, 0, 0x14, 0x00} // i32 field 1, i32 field 2, stop
	replyMsgpk  = []byte{0x81, 0xa1, 'C', 0xcc, 0xc8}                                            // {"C":200}
	gzipPayload = []byte(strings.Repeat(`{"A":10,"B":20}`, 8))
)

func goldenCases() []goldenCase {
	return []goldenCase{
		{"request", func() *Message {
			return newMsg(Request, MsgPack, 1, "Arith", "Mul", map[string]string{"__ID": "6ba7b810"}, argsMsgpack)
		}},
		{"response", func() *Message {
			return newMsg(Response, MsgPack, 1, "Arith", "Mul", nil, replyMsgpk)
		}},
		{"error_response", func() *Message {
			m := newMsg(Response, MsgPack, 2, "Arith", "Div", map[string]string{ServiceError: "divide by zero"}, nil)
			m.SetMessageStatusType(Error)
			return m
		}},
		{"heartbeat", func() *Message {
			m := newMsg(Request, MsgPack, 3, "", "", nil, nil)
			m.SetHeartbeat(true)
			return m
		}},
		{"oneway", func() *Message {
			m := newMsg(Request, JSON, 4, "Arith", "Mul", nil, argsJSON)
			m.SetOneway(true)
			return m
		}},
		{"gzip", func() *Message {
			m := newMsg(Request, JSON, 5, "Arith", "Mul", nil, gzipPayload)
			m.SetCompressType(Gzip)
			return m
		}},
		{"drain_notice", func() *Message {
			// courier's drain notice; the literal key and seq mirror
			// share.DrainKey and share.DrainSeq (protocol cannot import share).
			m := newMsg(Response, SerializeNone, ^uint64(0), "", "", map[string]string{"__courier_drain": "1"}, nil)
			m.SetHeartbeat(true)
			return m
		}},
		{"serialize_raw", func() *Message { return newMsg(Request, SerializeNone, 10, "Echo", "Echo", nil, argsRaw) }},
		{"serialize_json", func() *Message { return newMsg(Request, JSON, 11, "Arith", "Mul", nil, argsJSON) }},
		{"serialize_protobuf", func() *Message { return newMsg(Request, ProtoBuffer, 12, "Arith", "Mul", nil, argsPB) }},
		{"serialize_msgpack", func() *Message { return newMsg(Request, MsgPack, 13, "Arith", "Mul", nil, argsMsgpack) }},
		{"serialize_thrift", func() *Message { return newMsg(Request, Thrift, 14, "Arith", "Mul", nil, argsThrift) }},
	}
}

// formatHex writes b as lowercase hex, 16 bytes per line.
func formatHex(b []byte) []byte {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return []byte(sb.String())
}

// parseHex reads a golden file: hex digits, whitespace ignored.
func parseHex(t testing.TB, text []byte) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatalf("bad golden hex: %v", err)
	}
	return b
}

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
	if err != nil {
		t.Fatalf("read golden (run go test ./protocol -run TestGolden -update to create): %v", err)
	}
	return parseHex(t, text)
}

// sameMessage reports whether a and b are equal on the wire: same header,
// strings, metadata (nil and empty alike) and payload bytes.
func sameMessage(a, b *Message) bool {
	if *a.Header != *b.Header || a.ServicePath != b.ServicePath || a.ServiceMethod != b.ServiceMethod {
		return false
	}
	if len(a.Metadata) != len(b.Metadata) {
		return false
	}
	for k, v := range a.Metadata {
		if w, ok := b.Metadata[k]; !ok || w != v {
			return false
		}
	}
	return bytes.Equal(a.Payload, b.Payload)
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			m := gc.msg()
			enc := m.Encode()
			if enc == nil {
				t.Fatal("Encode returned nil")
			}
			path := filepath.Join("testdata", gc.name+".golden")
			if *update {
				if err := os.WriteFile(path, formatHex(enc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readGolden(t, gc.name)
			if !bytes.Equal(enc, want) {
				t.Fatalf("Encode differs from %s\n got %x\nwant %x", path, enc, want)
			}
			app, err := m.AppendTo([]byte("prefix"))
			if err != nil || !bytes.Equal(app[6:], want) || string(app[:6]) != "prefix" {
				t.Fatalf("AppendTo = %x, %v", app, err)
			}
			var w bytes.Buffer
			if n, err := m.WriteTo(&w); err != nil || n != int64(len(want)) || !bytes.Equal(w.Bytes(), want) {
				t.Fatalf("WriteTo = %d, %v, %x", n, err, w.Bytes())
			}
			if n, ok := FrameLength(want); !ok || n != len(want) {
				t.Fatalf("FrameLength = %d, %t; frame has %d bytes", n, ok, len(want))
			}

			got := NewMessage()
			if err := got.Decode(bytes.NewReader(want)); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !sameMessage(got, m) {
				t.Fatalf("Decode(golden) = %v, want %v", got, m)
			}
			un := NewMessage()
			if err := un.Unmarshal(want, nil); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !sameMessage(un, m) {
				t.Fatalf("Unmarshal(golden) = %v, want %v", un, m)
			}
		})
	}
}

// TestGoldenHeaderBytes spells out the flag byte of each golden frame, so a
// change in bit layout fails with a readable message.
func TestGoldenHeaderBytes(t *testing.T) {
	tests := []struct {
		name       string
		flags, ser byte
		seq        uint64
	}{
		{"request", 0x00, 0x30, 1},
		{"response", 0x80, 0x30, 1},
		{"error_response", 0x81, 0x30, 2},
		{"heartbeat", 0x40, 0x30, 3},
		{"oneway", 0x20, 0x10, 4},
		{"gzip", 0x04, 0x10, 5},
		{"drain_notice", 0xC0, 0x00, ^uint64(0)},
		{"serialize_raw", 0x00, 0x00, 10},
		{"serialize_json", 0x00, 0x10, 11},
		{"serialize_protobuf", 0x00, 0x20, 12},
		{"serialize_msgpack", 0x00, 0x30, 13},
		{"serialize_thrift", 0x00, 0x40, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := readGolden(t, tt.name)
			if b[0] != 0x08 || b[1] != 0 || b[2] != tt.flags || b[3] != tt.ser {
				t.Fatalf("header % x, want 08 00 %02x %02x", b[:4], tt.flags, tt.ser)
			}
			var h Header
			copy(h[:], b)
			if h.Seq() != tt.seq {
				t.Fatalf("seq %d, want %d", h.Seq(), tt.seq)
			}
		})
	}
}
