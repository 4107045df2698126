package compat

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
	"testing"

	cprotocol "github.com/courier-rpc/courier/protocol"
	rprotocol "github.com/smallnest/rpcx/protocol"
)

// frameSpec describes one frame; it is built with both protocol packages.
type frameSpec struct {
	name      string
	response  bool
	heartbeat bool
	oneway    bool
	errStatus bool
	gzip      bool
	st        byte // serialize type
	seq       uint64
	path      string
	method    string
	meta      map[string]string
	payload   []byte
}

func (s frameSpec) rpcx() *rprotocol.Message {
	m := rprotocol.NewMessage()
	if s.response {
		m.SetMessageType(rprotocol.Response)
	}
	m.SetHeartbeat(s.heartbeat)
	m.SetOneway(s.oneway)
	if s.errStatus {
		m.SetMessageStatusType(rprotocol.Error)
	}
	if s.gzip {
		m.SetCompressType(rprotocol.Gzip)
	}
	m.SetSerializeType(rprotocol.SerializeType(s.st))
	m.SetSeq(s.seq)
	m.ServicePath, m.ServiceMethod = s.path, s.method
	m.Metadata = maps.Clone(s.meta)
	m.Payload = bytes.Clone(s.payload)
	return m
}

func (s frameSpec) courier() *cprotocol.Message {
	m := cprotocol.NewMessage()
	if s.response {
		m.SetMessageType(cprotocol.Response)
	}
	m.SetHeartbeat(s.heartbeat)
	m.SetOneway(s.oneway)
	if s.errStatus {
		m.SetMessageStatusType(cprotocol.Error)
	}
	if s.gzip {
		m.SetCompressType(cprotocol.Gzip)
	}
	m.SetSerializeType(cprotocol.SerializeType(s.st))
	m.SetSeq(s.seq)
	m.ServicePath, m.ServiceMethod = s.path, s.method
	m.Metadata = maps.Clone(s.meta)
	m.Payload = bytes.Clone(s.payload)
	return m
}

// frameSpecs covers every header bit, serialize type and field shape with at
// most one metadata key, so that both encoders must produce the same bytes.
func frameSpecs() []frameSpec {
	big := bytes.Repeat([]byte("courier-rpcx "), 200)
	return []frameSpec{
		{name: "empty request", st: 0},
		{name: "raw request", st: 0, seq: 1, path: "Arith", method: "Echo", payload: []byte{0, 1, 2, 0xff}},
		{name: "json request with metadata", st: 1, seq: 42, path: "Arith", method: "Mul",
			meta: map[string]string{"k": "v"}, payload: []byte(`{"A":7,"B":8}`)},
		{name: "protobuf request", st: 2, seq: 1 << 40, path: "Arith", method: "MulPB", payload: []byte{0x08, 0x07, 0x10, 0x08}},
		{name: "msgpack request", st: 3, seq: 7, path: "Arith", method: "Mul", payload: []byte{0x82, 0xa1, 'A', 7, 0xa1, 'B', 8}},
		{name: "thrift request", st: 4, seq: 8, path: "S", method: "M", payload: []byte{0x0c, 0}},
		{name: "oneway request", st: 3, seq: 9, oneway: true, path: "Arith", method: "Note", payload: []byte{0xc0}},
		{name: "heartbeat request", st: 3, seq: 10, heartbeat: true, payload: []byte{0xd3, 1, 2, 3, 4, 5, 6, 7, 8}},
		{name: "heartbeat response", response: true, st: 3, seq: 10, heartbeat: true, payload: []byte{0xd3, 1, 2, 3, 4, 5, 6, 7, 8}},
		{name: "normal response", response: true, st: 1, seq: 11, path: "Arith", method: "Mul",
			meta: map[string]string{"echo": "yes"}, payload: []byte(`{"C":56}`)},
		{name: "error response", response: true, errStatus: true, st: 3, seq: 12, path: "Arith", method: "Div",
			meta: map[string]string{"__rpcx_error__": "divide by zero"}},
		{name: "auth metadata", st: 3, seq: 13, path: "Arith", method: "Mul", meta: map[string]string{"__AUTH": "bearer tGzv3JOkF0XG5Qx2TlKWIA"}},
		{name: "empty metadata value", st: 3, seq: 14, path: "Arith", method: "Mul", meta: map[string]string{"k": ""}},
		{name: "utf8 names", st: 1, seq: 15, path: "服务", method: "方法", meta: map[string]string{"ключ": "значение"}, payload: []byte(`"ü"`)},
		{name: "max seq", response: true, heartbeat: true, seq: ^uint64(0), meta: map[string]string{"__courier_drain": "1"}},
		{name: "large payload", st: 0, seq: 16, path: "Arith", method: "Echo", payload: big},
		// courier's gzip output is byte-identical to rpcx's (same level,
		// same flush), so gzip frames are compared byte for byte too.
		{name: "gzip large payload", gzip: true, st: 3, seq: 17, path: "Arith", method: "Echo", payload: big},
		{name: "gzip one byte", gzip: true, st: 0, seq: 18, path: "Arith", method: "Echo", payload: []byte("x")},
		{name: "gzip empty payload", gzip: true, st: 0, seq: 19, path: "Arith", method: "Echo"},
		{name: "gzip response", response: true, gzip: true, st: 1, seq: 20, path: "Arith", method: "Mul",
			meta: map[string]string{"re-k": "v"}, payload: bytes.Repeat([]byte(`{"C":1}`), 300)},
	}
}

// TestEncodeIdenticalBytes encodes the same message with rpcx's and
// courier's protocol packages and requires identical bytes.
func TestEncodeIdenticalBytes(t *testing.T) {
	for _, s := range frameSpecs() {
		t.Run(s.name, func(t *testing.T) {
			want := s.rpcx().Encode()
			got := s.courier().Encode()
			if !bytes.Equal(got, want) {
				t.Fatalf("encodings differ\nrpcx:    %s\ncourier: %s", hexOf(want), hexOf(got))
			}
			appended, err := s.courier().AppendTo([]byte("prefix"))
			if err != nil {
				t.Fatalf("courier AppendTo: %v", err)
			}
			if !bytes.Equal(appended[len("prefix"):], want) {
				t.Fatalf("AppendTo differs\nrpcx:    %s\ncourier: %s", hexOf(want), hexOf(appended[len("prefix"):]))
			}
			var buf bytes.Buffer
			if _, err := s.courier().WriteTo(&buf); err != nil {
				t.Fatalf("courier WriteTo: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("WriteTo differs\nrpcx:    %s\ncourier: %s", hexOf(want), hexOf(buf.Bytes()))
			}
		})
	}
}

// TestGoldenFrame pins one frame byte by byte, independent of both
// implementations, so that a change in both at once is still caught.
func TestGoldenFrame(t *testing.T) {
	s := frameSpec{st: 1, seq: 0x0102030405060708, path: "Arith", method: "Mul",
		meta: map[string]string{"k": "v"}, payload: []byte(`{"A":1}`)}
	want := "" +
		"08" + "00" + "00" + "10" + "0102030405060708" + "00000029" +
		"00000005" + hex.EncodeToString([]byte("Arith")) +
		"00000003" + hex.EncodeToString([]byte("Mul")) +
		"0000000a" + "00000001" + "6b" + "00000001" + "76" +
		"00000007" + hex.EncodeToString([]byte(`{"A":1}`))
	for name, got := range map[string][]byte{"rpcx": s.rpcx().Encode(), "courier": s.courier().Encode()} {
		if hex.EncodeToString(got) != want {
			t.Errorf("%s encoding\n got: %s\nwant: %s", name, hex.EncodeToString(got), want)
		}
	}
}

// TestCourierDecodesRpcxBytes decodes rpcx-encoded frames with courier, by
// Unmarshal and by Decode from a stream.
func TestCourierDecodesRpcxBytes(t *testing.T) {
	specs := append(frameSpecs(), multiKeySpec(), gzipSpec())
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			data := s.rpcx().Encode()
			m := cprotocol.NewMessage()
			if err := m.Unmarshal(bytes.Clone(data), nil); err != nil {
				t.Fatalf("courier Unmarshal of %s: %v", hexOf(data), err)
			}
			checkCourier(t, s, m)
			m2 := cprotocol.NewMessage()
			if err := m2.Decode(bytes.NewReader(data)); err != nil {
				t.Fatalf("courier Decode of %s: %v", hexOf(data), err)
			}
			checkCourier(t, s, m2)
		})
	}
}

// TestRpcxDecodesCourierBytes decodes courier-encoded frames with rpcx.
func TestRpcxDecodesCourierBytes(t *testing.T) {
	specs := append(frameSpecs(), multiKeySpec(), gzipSpec())
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			data, err := s.courier().AppendTo(nil)
			if err != nil {
				t.Fatalf("courier AppendTo: %v", err)
			}
			m := rprotocol.NewMessage()
			if err := m.Decode(bytes.NewReader(data)); err != nil {
				t.Fatalf("rpcx Decode of %s: %v", hexOf(data), err)
			}
			got := frameSpec{
				response:  m.MessageType() == rprotocol.Response,
				heartbeat: m.IsHeartbeat(),
				oneway:    m.IsOneway(),
				errStatus: m.MessageStatusType() == rprotocol.Error,
				gzip:      m.CompressType() == rprotocol.Gzip,
				st:        byte(m.SerializeType()),
				seq:       m.Seq(),
				path:      m.ServicePath,
				method:    m.ServiceMethod,
				meta:      m.Metadata,
				payload:   m.Payload,
			}
			if m.Version() != 0 || !m.CheckMagicNumber() {
				t.Fatalf("rpcx sees version %d, magic ok %v", m.Version(), m.CheckMagicNumber())
			}
			if diff := specDiff(s, got); diff != "" {
				t.Fatalf("rpcx decoded %s\n%s", hexOf(data), diff)
			}
		})
	}
}

// TestMultiKeyMetadataCrossDecode: with several metadata keys the byte
// order of the entries depends on map iteration, so only the decoded maps are
// compared, and the section length must match.
func TestMultiKeyMetadataCrossDecode(t *testing.T) {
	s := multiKeySpec()
	r, c := s.rpcx().Encode(), s.courier().Encode()
	if len(r) != len(c) {
		t.Fatalf("lengths differ: rpcx %d, courier %d", len(r), len(c))
	}
	if !bytes.Equal(r[:16], c[:16]) {
		t.Fatalf("headers differ: rpcx %x, courier %x", r[:16], c[:16])
	}
}

// TestGzipCrossDecode: gzip streams may legitimately differ byte for byte,
// so each side must inflate the other's payload to the original.
func TestGzipCrossDecode(t *testing.T) {
	s := gzipSpec()
	r, c := s.rpcx().Encode(), s.courier().Encode()
	if r[2]&0x1c != 0x04 || c[2]&0x1c != 0x04 {
		t.Fatalf("compress bits: rpcx %#x, courier %#x; want gzip (0x04)", r[2], c[2])
	}
	if len(r) >= 16+len(s.payload) || len(c) >= 16+len(s.payload) {
		t.Fatalf("payload not compressed: rpcx frame %d bytes, courier %d bytes, payload %d", len(r), len(c), len(s.payload))
	}
	// The compressed payloads must be valid gzip for the other side's
	// compressor too.
	rp, err := cprotocol.GzipCompressor{}.Unzip(tailPayload(t, r))
	if err != nil || !bytes.Equal(rp, s.payload) {
		t.Fatalf("courier Unzip of rpcx gzip: %v (equal %v)", err, bytes.Equal(rp, s.payload))
	}
	cp, err := rprotocol.GzipCompressor{}.Unzip(tailPayload(t, c))
	if err != nil || !bytes.Equal(cp, s.payload) {
		t.Fatalf("rpcx Unzip of courier gzip: %v (equal %v)", err, bytes.Equal(cp, s.payload))
	}
}

// TestStreamOfFrames decodes back-to-back frames of the other side from one
// stream, as a connection delivers them.
func TestStreamOfFrames(t *testing.T) {
	var fromRpcx, fromCourier bytes.Buffer
	specs := frameSpecs()
	for _, s := range specs {
		fromRpcx.Write(s.rpcx().Encode())
		fromCourier.Write(s.courier().Encode())
	}
	for i, s := range specs {
		cm := cprotocol.NewMessage()
		if err := cm.Decode(&fromRpcx); err != nil {
			t.Fatalf("frame %d (%s): courier Decode: %v", i, s.name, err)
		}
		checkCourier(t, s, cm)
		rm := rprotocol.NewMessage()
		if err := rm.Decode(&fromCourier); err != nil {
			t.Fatalf("frame %d (%s): rpcx Decode: %v", i, s.name, err)
		}
		if rm.Seq() != s.seq || rm.ServiceMethod != s.method || !bytes.Equal(rm.Payload, s.payload) {
			t.Fatalf("frame %d (%s): rpcx decoded seq %d method %q payload %d bytes", i, s.name, rm.Seq(), rm.ServiceMethod, len(rm.Payload))
		}
	}
	if fromRpcx.Len() != 0 || fromCourier.Len() != 0 {
		t.Fatalf("left over bytes: %d and %d", fromRpcx.Len(), fromCourier.Len())
	}
}

func multiKeySpec() frameSpec {
	return frameSpec{name: "several metadata keys", st: 3, seq: 99, path: "Arith", method: "Mul",
		meta:    map[string]string{"a": "1", "bb": "22", "__AUTH": "tok", "__courier_deadline": "1500", "__req": ""},
		payload: []byte{0x80}}
}

func gzipSpec() frameSpec {
	return frameSpec{name: "gzip payload", gzip: true, st: 0, seq: 5, path: "Arith", method: "Echo",
		meta: map[string]string{"k": "v"}, payload: bytes.Repeat([]byte("compressible "), 300)}
}

// tailPayload returns the payload section of an encoded frame.
func tailPayload(t *testing.T, frame []byte) []byte {
	t.Helper()
	m := rprotocol.NewMessage()
	// Decode without inflating: clear the compress bits on a copy.
	c := bytes.Clone(frame)
	c[2] &^= 0x1c
	if err := m.Decode(bytes.NewReader(c)); err != nil {
		t.Fatalf("decode %s: %v", hexOf(frame), err)
	}
	return m.Payload
}

func checkCourier(t *testing.T, want frameSpec, m *cprotocol.Message) {
	t.Helper()
	if m.Version() != 0 || !m.CheckMagicNumber() {
		t.Fatalf("courier sees version %d, magic ok %v", m.Version(), m.CheckMagicNumber())
	}
	got := frameSpec{
		response:  m.MessageType() == cprotocol.Response,
		heartbeat: m.IsHeartbeat(),
		oneway:    m.IsOneway(),
		errStatus: m.MessageStatusType() == cprotocol.Error,
		gzip:      m.CompressType() == cprotocol.Gzip,
		st:        byte(m.SerializeType()),
		seq:       m.Seq(),
		path:      m.ServicePath,
		method:    m.ServiceMethod,
		meta:      m.Metadata,
		payload:   m.Payload,
	}
	if diff := specDiff(want, got); diff != "" {
		t.Fatalf("courier decoded:\n%s", diff)
	}
}

func specDiff(want, got frameSpec) string {
	var b strings.Builder
	check := func(field string, w, g any) {
		if fmt.Sprint(w) != fmt.Sprint(g) {
			fmt.Fprintf(&b, "%s: got %v, want %v\n", field, g, w)
		}
	}
	check("response", want.response, got.response)
	check("heartbeat", want.heartbeat, got.heartbeat)
	check("oneway", want.oneway, got.oneway)
	check("error status", want.errStatus, got.errStatus)
	check("gzip", want.gzip, got.gzip)
	check("serialize type", want.st, got.st)
	check("seq", want.seq, got.seq)
	check("path", want.path, got.path)
	check("method", want.method, got.method)
	if len(want.meta) != len(got.meta) || !maps.Equal(want.meta, got.meta) {
		fmt.Fprintf(&b, "metadata: got %v, want %v\n", got.meta, want.meta)
	}
	if !bytes.Equal(want.payload, got.payload) {
		fmt.Fprintf(&b, "payload: got %d bytes %s, want %d bytes %s\n", len(got.payload), hexOf(got.payload), len(want.payload), hexOf(want.payload))
	}
	return b.String()
}

// hexOf renders b as hex, cut after 512 bytes.
func hexOf(b []byte) string {
	const max = 512
	if len(b) > max {
		return hex.EncodeToString(b[:max]) + fmt.Sprintf("...(%d bytes)", len(b))
	}
	return hex.EncodeToString(b)
}
