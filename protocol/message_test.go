package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unsafe"
)

func sampleMessage() *Message {
	m := newMsg(Request, MsgPack, 42, "Arith", "Mul", map[string]string{"a": "1", "bb": "22", "": ""}, []byte("payload"))
	m.SetOneway(true)
	return m
}

func TestNewMessage(t *testing.T) {
	m := NewMessage()
	if m.Header == nil || *m.Header != (Header{magicNumber}) || m.ServicePath != "" || m.Metadata != nil || m.Payload != nil {
		t.Fatalf("NewMessage = %v", m)
	}
}

func TestEncodeDecodeMultiKeyMetadata(t *testing.T) {
	m := sampleMessage()
	enc := m.Encode()
	for name, decode := range map[string]func([]byte) (*Message, error){
		"Read": func(b []byte) (*Message, error) { return Read(bytes.NewReader(b)) },
		"Decode": func(b []byte) (*Message, error) {
			g := NewMessage()
			return g, g.Decode(bytes.NewReader(b))
		},
		"DecodeLimited bufio": func(b []byte) (*Message, error) {
			g := NewMessage()
			lim := DefaultLimits()
			return g, g.DecodeLimited(bufio.NewReader(bytes.NewReader(b)), &lim)
		},
		"Unmarshal": func(b []byte) (*Message, error) {
			g := NewMessage()
			return g, g.Unmarshal(b, nil)
		},
		"Decode nil header": func(b []byte) (*Message, error) {
			g := &Message{}
			return g, g.Decode(bytes.NewReader(b))
		},
		"Unmarshal nil header": func(b []byte) (*Message, error) {
			g := &Message{}
			return g, g.Unmarshal(b, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMessage(got, m) {
				t.Fatalf("got %v, want %v", got, m)
			}
		})
	}
}

func TestReadStream(t *testing.T) {
	// Several frames back to back on one stream, then a clean io.EOF.
	var stream bytes.Buffer
	var want []*Message
	for i := range 5 {
		m := newMsg(MessageType(i%2), JSON, uint64(i), "S", "M", nil, bytes.Repeat([]byte{byte(i)}, i*100))
		if i == 3 {
			m.SetCompressType(Gzip)
		}
		if _, err := m.WriteTo(&stream); err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	r := bufio.NewReader(&stream)
	m := GetPooledMsg()
	t.Cleanup(func() { FreeMsg(m) })
	for i, w := range want {
		if err := m.Decode(r); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !sameMessage(m, w) {
			t.Fatalf("frame %d: got %v, want %v", i, m, w)
		}
	}
	if err := m.Decode(r); err != io.EOF {
		t.Fatalf("after last frame: %v, want io.EOF", err)
	}
	if _, err := Read(r); err != io.EOF {
		t.Fatalf("Read after last frame: %v, want io.EOF", err)
	}
}

func TestAppendToNilHeaderAndPrefix(t *testing.T) {
	m := &Message{ServicePath: "p"}
	b, err := m.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 1, 'p', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x\nwant % x", b, want)
	}
	// Appending to a buffer with spare capacity reuses it.
	buf := make([]byte, 3, 128)
	out, err := m.AppendTo(buf)
	if err != nil || &out[0] != &buf[0] || !bytes.Equal(out[3:], want) {
		t.Fatalf("AppendTo did not reuse capacity: %v", err)
	}
}

type failingCompressor struct{}

func (failingCompressor) Zip([]byte) ([]byte, error)   { return nil, errors.New("zip failed") }
func (failingCompressor) Unzip([]byte) ([]byte, error) { return nil, errors.New("unzip failed") }

// xorCompressor is a reversible toy compressor for a custom compress type.
type xorCompressor struct{}

func (xorCompressor) Zip(b []byte) ([]byte, error) { return xorBytes(b), nil }
func (xorCompressor) Unzip(b []byte) ([]byte, error) {
	if len(b) > 0 && b[0] == 0xFF^'!' {
		return make([]byte, 2048), nil // inflates, for the limit test
	}
	return xorBytes(b), nil
}

func xorBytes(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ 0xFF
	}
	return out
}

func setCompressor(t *testing.T, ct CompressType, c Compressor) {
	t.Helper()
	Compressors[ct] = c
	Limits{}.Resolve() // what NewServer and NewClient do
	t.Cleanup(func() {
		delete(Compressors, ct)
		Limits{}.Resolve()
	})
}

func TestCompressionFallbacks(t *testing.T) {
	t.Run("unknown compressor", func(t *testing.T) {
		m := newMsg(Request, JSON, 1, "s", "m", nil, []byte("data"))
		m.SetCompressType(5)
		if _, err := m.AppendTo(nil); !errors.Is(err, ErrUnsupportedCompressor) {
			t.Fatalf("AppendTo err %v", err)
		}
		if _, err := m.WriteTo(io.Discard); !errors.Is(err, ErrUnsupportedCompressor) {
			t.Fatalf("WriteTo err %v", err)
		}
		// Encode and EncodeSlicePointer send it uncompressed, like rpcx,
		// without changing m.
		for _, enc := range [][]byte{m.Encode(), *m.EncodeSlicePointer()} {
			got := NewMessage()
			if err := got.Unmarshal(enc, nil); err != nil {
				t.Fatal(err)
			}
			if got.CompressType() != None || string(got.Payload) != "data" {
				t.Fatalf("got %v", got)
			}
		}
		if m.CompressType() != 5 {
			t.Fatal("Encode changed the message header")
		}
		// A frame carrying an unknown compress type is refused.
		enc := m.Encode()
		enc[2] |= 5 << 2
		if err := NewMessage().Unmarshal(enc, nil); !errors.Is(err, ErrUnsupportedCompressor) {
			t.Fatalf("decode err %v", err)
		}
	})
	t.Run("failing compressor", func(t *testing.T) {
		setCompressor(t, 6, failingCompressor{})
		m := newMsg(Request, JSON, 1, "s", "m", nil, []byte("data"))
		m.SetCompressType(6)
		if _, err := m.AppendTo(nil); err == nil || !strings.Contains(err.Error(), "zip failed") {
			t.Fatalf("AppendTo err %v", err)
		}
		enc := m.Encode()
		got := NewMessage()
		if err := got.Unmarshal(enc, nil); err != nil || got.CompressType() != None {
			t.Fatalf("Encode fallback: %v %v", err, got)
		}
		enc[2] |= 6 << 2
		if err := got.Unmarshal(enc, nil); err == nil || !strings.Contains(err.Error(), "unzip failed") {
			t.Fatalf("decode err %v", err)
		}
	})
	t.Run("custom compressor", func(t *testing.T) {
		setCompressor(t, 7, xorCompressor{})
		m := newMsg(Request, JSON, 1, "s", "m", nil, []byte("data"))
		m.SetCompressType(7)
		enc, err := m.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(enc, xorBytes([]byte("data"))) {
			t.Fatalf("payload not compressed: %x", enc)
		}
		got := NewMessage()
		if err := got.Unmarshal(enc, nil); err != nil || !sameMessage(got, m) {
			t.Fatalf("%v %v", err, got)
		}
		// Inflation past MaxDecompressedSize is refused for custom
		// compressors too.
		m.Payload = []byte("!")
		enc, _ = m.AppendTo(nil)
		lim := Limits{MaxDecompressedSize: 1024}.Resolve()
		if err := got.Unmarshal(enc, &lim); !errors.Is(err, ErrDecompressedTooLarge) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("gzip empty payload", func(t *testing.T) {
		// rpcx's decoder needs a gzip stream even for an empty payload.
		m := newMsg(Response, JSON, 1, "", "", nil, nil)
		m.SetCompressType(Gzip)
		enc := m.Encode()
		if n := len(enc) - HeaderSize - 16; n == 0 {
			t.Fatal("empty payload sent uncompressed")
		}
		got := NewMessage()
		if err := got.Unmarshal(enc, nil); err != nil || len(got.Payload) != 0 || got.CompressType() != Gzip {
			t.Fatalf("%v %v", err, got)
		}
		// An empty gzip-flagged payload (a lenient peer) decodes as empty.
		m.SetCompressType(None)
		enc = m.Encode()
		enc[2] |= 1 << 2
		if err := got.Unmarshal(enc, nil); err != nil || len(got.Payload) != 0 {
			t.Fatalf("%v %v", err, got)
		}
	})
	t.Run("corrupt gzip", func(t *testing.T) {
		m := newMsg(Request, JSON, 1, "s", "m", nil, []byte("not gzip"))
		enc := m.Encode()
		enc[2] |= 1 << 2
		if err := NewMessage().Unmarshal(enc, nil); !isGzipError(err) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestCompressors(t *testing.T) {
	data := bytes.Repeat([]byte("courier "), 100)
	for ct, c := range map[CompressType]Compressor{None: Compressors[None], Gzip: Compressors[Gzip]} {
		z, err := c.Zip(data)
		if err != nil {
			t.Fatal(err)
		}
		if ct == Gzip && len(z) >= len(data) {
			t.Fatalf("gzip did not compress: %d bytes", len(z))
		}
		out, err := c.Unzip(z)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("%d: round trip %v", ct, err)
		}
	}
	if _, err := (GzipCompressor{}).Unzip([]byte("junk")); err == nil {
		t.Fatal("Unzip of junk succeeded")
	}
}

func TestClone(t *testing.T) {
	m := sampleMessage()
	c := m.Clone()
	if !sameMessage(c, m) {
		t.Fatalf("clone %v != %v", c, m)
	}
	// The clone shares nothing with the original.
	c.SetSeq(7)
	c.Metadata["a"] = "changed"
	c.Payload[0] = 'X'
	if m.Seq() != 42 || m.Metadata["a"] != "1" || m.Payload[0] != 'p' {
		t.Fatalf("clone aliases original: %v", m)
	}
	empty := (&Message{}).Clone()
	if empty.Header == nil || !empty.CheckMagicNumber() || empty.Metadata != nil || empty.Payload != nil {
		t.Fatalf("clone of empty = %v", empty)
	}
}

func TestReset(t *testing.T) {
	m := sampleMessage()
	if err := m.Unmarshal(m.Encode(), nil); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	if *m.Header != (Header{magicNumber}) || m.ServicePath != "" || m.ServiceMethod != "" || m.Metadata != nil || m.Payload != nil || len(m.data) != 0 {
		t.Fatalf("Reset left %v", m)
	}
	n := &Message{}
	n.Reset()
	if n.Header == nil || !n.CheckMagicNumber() {
		t.Fatal("Reset of header-less message")
	}
}

func TestPooledMsg(t *testing.T) {
	m := GetPooledMsg()
	if *m.Header != (Header{magicNumber}) {
		t.Fatalf("pooled message not reset: %v", m)
	}
	m.SetSeq(9)
	m.ServicePath = "x"
	m.Metadata = map[string]string{"k": "v"}
	m.data = make([]byte, 0, 128)
	FreeMsg(m)
	FreeMsg(nil) // allowed
	if *m.Header != (Header{magicNumber}) || m.ServicePath != "" || m.Metadata != nil || cap(m.data) != 128 {
		t.Fatalf("FreeMsg did not reset but keep the buffer: %v cap %d", m, cap(m.data))
	}
	big := GetPooledMsg()
	big.data = make([]byte, 0, 1<<20)
	FreeMsg(big)
	if big.data != nil {
		t.Fatal("FreeMsg kept a 1 MiB buffer in the pool")
	}
}

func TestEncodeSlicePointerAndPutData(t *testing.T) {
	m := sampleMessage()
	bp := m.EncodeSlicePointer()
	got := NewMessage()
	if err := got.Unmarshal(*bp, nil); err != nil || !sameMessage(got, m) {
		t.Fatalf("%v %v", err, got)
	}
	PutData(bp)
	PutData(nil)
	huge := make([]byte, 0, 1<<20)
	PutData(&huge) // not pooled, must not panic
	for range 3 {  // pooled buffers are reused with correct contents
		bp := m.EncodeSlicePointer()
		if err := got.Unmarshal(*bp, nil); err != nil || !sameMessage(got, m) {
			t.Fatalf("%v %v", err, got)
		}
		PutData(bp)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteToError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := sampleMessage().WriteTo(errWriter{boom}); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

func TestDecodeReusesStrings(t *testing.T) {
	enc := newMsg(Request, MsgPack, 1, "Arith", "Mul", nil, []byte("x")).Encode()
	m := NewMessage()
	if err := m.Unmarshal(enc, nil); err != nil {
		t.Fatal(err)
	}
	path := m.ServicePath
	if err := m.Unmarshal(enc, nil); err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(m.ServicePath) != unsafe.StringData(path) {
		t.Fatal("equal service path was allocated again")
	}
	// A message decoded with metadata, then without, has nil metadata.
	withMD := newMsg(Request, MsgPack, 1, "Arith", "Mul", map[string]string{"k": "v"}, nil).Encode()
	if err := m.Unmarshal(withMD, nil); err != nil || m.Metadata["k"] != "v" {
		t.Fatal(err)
	}
	if err := m.Unmarshal(enc, nil); err != nil || m.Metadata != nil {
		t.Fatalf("stale metadata %v %v", err, m.Metadata)
	}
	// Decoding different metadata into the reused map drops old keys.
	other := newMsg(Request, MsgPack, 1, "Arith", "Mul", map[string]string{"z": "1"}, nil).Encode()
	if err := m.Unmarshal(withMD, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmarshal(other, nil); err != nil || len(m.Metadata) != 1 || m.Metadata["z"] != "1" {
		t.Fatalf("metadata %v %v", err, m.Metadata)
	}
}

func TestMessageString(t *testing.T) {
	s := sampleMessage().String()
	for _, want := range []string{"seq=42", "oneway=true", "ser=msgpack", "path=Arith", "method=Mul", "payload=7B"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q lacks %q", s, want)
		}
	}
	if s := (Message{}).String(); !strings.Contains(s, "seq=0") {
		t.Errorf("String of empty message = %q", s)
	}
}

func TestFrameLength(t *testing.T) {
	if _, ok := FrameLength(make([]byte, 15)); ok {
		t.Fatal("short header accepted")
	}
	h := []byte{8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}
	if n, ok := FrameLength(h); !ok || n != HeaderSize+0xFFFFFFFF {
		t.Fatalf("FrameLength = %d", n)
	}
}

// Compressors is copied when limits are resolved (at NewServer/NewClient):
// a compressor registered later is used only after the next resolve.
func TestCompressorsCopiedAtResolve(t *testing.T) {
	Limits{}.Resolve()
	Compressors[7] = xorCompressor{}
	t.Cleanup(func() {
		delete(Compressors, 7)
		Limits{}.Resolve()
	})
	m := newMsg(Request, JSON, 1, "s", "m", nil, []byte("data"))
	m.SetCompressType(7)
	if _, err := m.AppendTo(nil); !errors.Is(err, ErrUnsupportedCompressor) {
		t.Fatalf("before resolve: AppendTo err %v", err)
	}
	Limits{}.Resolve()
	enc, err := m.AppendTo(nil)
	if err != nil {
		t.Fatalf("after resolve: AppendTo err %v", err)
	}
	got := NewMessage()
	if err := got.Decode(bytes.NewReader(enc)); err != nil || string(got.Payload) != "data" {
		t.Fatalf("decode: %v %q", err, got.Payload)
	}
}

// A message and its header fill whole cache lines (see messageBlock).
func TestMessageBlockIsLineMultiple(t *testing.T) {
	if n := unsafe.Sizeof(messageBlock{}); n%64 != 0 {
		t.Errorf("messageBlock is %d bytes, not a multiple of 64", n)
	}
	m := NewMessage()
	if d := uintptr(unsafe.Pointer(m)) - uintptr(unsafe.Pointer(m.Header)); d != unsafe.Offsetof(messageFields{}.msg) {
		t.Errorf("NewMessage's header is %d bytes before its message, want %d (one block)", d, unsafe.Offsetof(messageFields{}.msg))
	}
}

// The extra metadata entry goes on the wire beside Metadata's, replaces
// Metadata's entry of its key, and does not outlive Reset or Decode.
func TestExtraMetadata(t *testing.T) {
	roundTrip := func(m *Message) map[string]string {
		t.Helper()
		enc, err := m.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		got := NewMessage()
		if err := got.Decode(bytes.NewReader(enc)); err != nil {
			t.Fatal(err)
		}
		if k, _ := got.ExtraMetadata(); k != "" {
			t.Fatalf("decoded message has an extra entry %q", k)
		}
		return got.Metadata
	}
	m := NewMessage()
	m.ServicePath, m.ServiceMethod, m.Payload = "S", "M", []byte("p")
	m.SetExtraMetadata("dl", "150")
	if md := roundTrip(m); len(md) != 1 || md["dl"] != "150" {
		t.Fatalf("extra alone: %v", md)
	}
	caller := map[string]string{"a": "1", "dl": "9999"}
	m.Metadata = caller
	if md := roundTrip(m); len(md) != 2 || md["a"] != "1" || md["dl"] != "150" {
		t.Fatalf("extra beside Metadata: %v", md)
	}
	if len(caller) != 2 || caller["dl"] != "9999" {
		t.Fatalf("encoding changed the caller's map: %v", caller)
	}
	if s := m.String(); !strings.Contains(s, "+dl:150") {
		t.Fatalf("String %q lacks the extra entry", s)
	}
	c := m.Clone()
	if k, v := c.ExtraMetadata(); k != "dl" || v != "150" {
		t.Fatalf("Clone's extra entry %q=%q", k, v)
	}
	m.SetExtraMetadata("", "")
	if md := roundTrip(m); md["dl"] != "9999" {
		t.Fatalf("removed extra: %v", md)
	}
	m.SetExtraMetadata("dl", "7")
	m.Reset()
	if k, _ := m.ExtraMetadata(); k != "" {
		t.Fatal("Reset kept the extra entry")
	}
	c.Metadata = nil
	enc, _ := NewMessage().AppendTo(nil)
	if err := c.Decode(bytes.NewReader(enc)); err != nil {
		t.Fatal(err)
	}
	if k, _ := c.ExtraMetadata(); k != "" {
		t.Fatal("Decode kept the extra entry")
	}
}
