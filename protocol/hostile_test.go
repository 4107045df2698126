package protocol

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
)

// allocatedDuring returns the bytes allocated on the heap while f runs.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// frameHeader builds a frame header with the given total length.
func frameHeader(total uint32) []byte {
	h := make([]byte, HeaderSize)
	h[0] = magicNumber
	h[3] = byte(MsgPack) << 4
	binary.BigEndian.PutUint32(h[12:], total)
	return h
}

// rawFrame assembles a frame from already length-prefixed sections.
func rawFrame(body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return append(frameHeader(uint32(len(b))), b...)
}

func u32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

func TestTruncatedAtEveryOffset(t *testing.T) {
	frames := map[string][]byte{}
	for _, gc := range goldenCases() {
		frames[gc.name] = readGolden(t, gc.name)
	}
	frames["multi-metadata"] = sampleMessage().Encode()
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			for i := range len(frame) {
				m := NewMessage()
				err := m.Decode(bytes.NewReader(frame[:i]))
				if i == 0 {
					if err != io.EOF {
						t.Fatalf("offset 0: %v, want io.EOF", err)
					}
				} else if !errors.Is(err, ErrTruncated) {
					t.Fatalf("Decode truncated at %d: %v", i, err)
				}
				if err := m.Unmarshal(frame[:i], nil); !errors.Is(err, ErrTruncated) {
					t.Fatalf("Unmarshal truncated at %d: %v", i, err)
				}
			}
		})
	}
}

func TestBadMagicAndVersion(t *testing.T) {
	frame := readGolden(t, "request")
	for b := range 256 {
		f := bytes.Clone(frame)
		f[0] = byte(b)
		err := NewMessage().Decode(bytes.NewReader(f))
		uerr := NewMessage().Unmarshal(f, nil)
		if b == int(magicNumber) {
			if err != nil || uerr != nil {
				t.Fatalf("good frame refused: %v %v", err, uerr)
			}
			continue
		}
		if !errors.Is(err, ErrBadMagic) || !errors.Is(uerr, ErrBadMagic) {
			t.Fatalf("magic %#x: %v, %v", b, err, uerr)
		}
	}
	for v := 1; v < 256; v++ {
		f := bytes.Clone(frame)
		f[1] = byte(v)
		if err := NewMessage().Decode(bytes.NewReader(f)); !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("version %d: %v", v, err)
		}
		if err := NewMessage().Unmarshal(f, nil); !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("version %d: %v", v, err)
		}
	}
}

func TestHugeTotalLengthDoesNotAllocate(t *testing.T) {
	frame := append(frameHeader(math32), []byte("short body")...)
	m := NewMessage()
	r := bytes.NewReader(frame)
	decode := func() {
		r.Reset(frame)
		if err := m.Decode(r); !errors.Is(err, ErrMessageTooLong) {
			t.Fatalf("err %v, want ErrMessageTooLong", err)
		}
	}
	// Only the error value itself is allocated, never the 4 GiB body.
	if allocs := testing.AllocsPerRun(100, decode); allocs > 8 {
		t.Fatalf("%.0f allocations per refused frame", allocs)
	}
	if n := allocatedDuring(func() {
		for range 100 {
			decode()
		}
	}); n > 64<<10 {
		t.Fatalf("100 refused frames allocated %d bytes", n)
	}
	if err := m.Unmarshal(frame, nil); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("Unmarshal: %v", err)
	}
	// Exactly at the limit is allowed (and then truncated here).
	lim := Limits{MaxMessageLength: 100}.Resolve()
	if err := m.DecodeLimited(bytes.NewReader(append(frameHeader(100), 1, 2)), &lim); !errors.Is(err, ErrTruncated) {
		t.Fatalf("at limit: %v", err)
	}
	if err := m.DecodeLimited(bytes.NewReader(frameHeader(101)), &lim); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("over limit: %v", err)
	}
}

const math32 = 0xFFFFFFFF

// TestClaimedLongFrameGrowsIncrementally: a peer claims a 16 MiB frame and
// sends a few bytes; the decoder must not allocate 16 MiB up front.
func TestClaimedLongFrameGrowsIncrementally(t *testing.T) {
	frame := append(frameHeader(DefaultMaxMessageLength), make([]byte, 100)...)
	m := NewMessage()
	n := allocatedDuring(func() {
		if err := m.Decode(bytes.NewReader(frame)); !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err %v", err)
		}
	})
	if n > 256<<10 {
		t.Fatalf("claimed 16 MiB frame with 100 bytes sent allocated %d bytes", n)
	}
	// With 1 MiB of the frame sent, memory follows the bytes received: the
	// buffer doubles from 64 KiB, so at most 4x what arrived is allocated in
	// total, far from the 16 MiB claimed.
	part := append(frameHeader(DefaultMaxMessageLength), make([]byte, 1<<20)...)
	n = allocatedDuring(func() {
		if err := NewMessage().Decode(bytes.NewReader(part)); !errors.Is(err, ErrTruncated) {
			t.Fatalf("err %v", err)
		}
	})
	if n > 4<<20+64<<10 {
		t.Fatalf("1 MiB received of a claimed 16 MiB frame allocated %d bytes", n)
	}
}

// TestLargeFrameAcrossGrowthSteps decodes a valid frame bigger than the
// first read step, from a reader that returns small chunks.
func TestLargeFrameAcrossGrowthSteps(t *testing.T) {
	payload := make([]byte, 1<<20+12345)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	m := newMsg(Request, SerializeNone, 1, "S", "M", map[string]string{"k": "v"}, payload)
	frame := m.Encode()
	got := NewMessage()
	if err := got.Decode(io.LimitReader(&chunkReader{b: frame, n: 1000}, int64(len(frame)))); err != nil {
		t.Fatal(err)
	}
	if !sameMessage(got, m) {
		t.Fatal("large frame changed")
	}
	// Decoding again reuses the grown buffer.
	if n := allocatedDuring(func() {
		if err := got.Decode(bytes.NewReader(frame)); err != nil {
			t.Fatal(err)
		}
	}); n > 64<<10 {
		t.Fatalf("second decode allocated %d bytes", n)
	}
}

type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestLengthFieldsPastFrame(t *testing.T) {
	str := func(s string) []byte { return append(u32(uint32(len(s))), s...) }
	tests := []struct {
		name string
		body [][]byte
		want error
	}{
		{"path length huge", [][]byte{u32(math32), []byte("abc")}, ErrTruncated},
		{"path length one past", [][]byte{u32(4), []byte("abc")}, ErrTruncated},
		{"method length huge", [][]byte{str("p"), u32(math32)}, ErrTruncated},
		{"no method length", [][]byte{str("p"), {0, 0}}, ErrTruncated},
		{"metadata length huge", [][]byte{str("p"), str("m"), u32(math32), u32(0)}, ErrTruncated},
		{"metadata key length huge", [][]byte{str("p"), str("m"), u32(8), u32(math32), u32(0), u32(0)}, ErrMetaKVMissing},
		{"metadata value length huge", [][]byte{str("p"), str("m"), u32(8), u32(0), u32(math32), u32(0)}, ErrMetaKVMissing},
		{"metadata value missing", [][]byte{str("p"), str("m"), u32(5), str("k"), u32(0)}, ErrMetaKVMissing},
		{"metadata odd bytes", [][]byte{str("p"), str("m"), u32(3), {1, 2, 3}, u32(0)}, ErrMetaKVMissing},
		{"payload length huge", [][]byte{str("p"), str("m"), u32(0), u32(math32)}, ErrTruncated},
		{"payload length missing", [][]byte{str("p"), str("m"), u32(0)}, ErrTruncated},
		{"bytes after payload", [][]byte{str("p"), str("m"), u32(0), str("x"), {0}}, ErrTruncated},
		{"empty body", nil, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := rawFrame(tt.body...)
			if err := NewMessage().Decode(bytes.NewReader(frame)); !errors.Is(err, tt.want) {
				t.Fatalf("Decode: %v, want %v", err, tt.want)
			}
			if err := NewMessage().Unmarshal(frame, nil); !errors.Is(err, tt.want) {
				t.Fatalf("Unmarshal: %v, want %v", err, tt.want)
			}
		})
	}
	// The total length disagreeing with a complete in-memory frame.
	frame := readGolden(t, "request")
	for _, delta := range []int{-1, 1} {
		f := bytes.Clone(frame)
		binary.BigEndian.PutUint32(f[12:], uint32(len(f)-HeaderSize+delta))
		if err := NewMessage().Unmarshal(f, nil); !errors.Is(err, ErrTruncated) {
			t.Fatalf("total %+d: %v", delta, err)
		}
	}
}

func TestTooManyMetadata(t *testing.T) {
	const entries = 1 << 20
	// 1M distinct entries: 4-byte key, empty value (12 bytes each).
	md := make([]byte, 0, entries*12)
	for i := range entries {
		md = binary.BigEndian.AppendUint32(md, 4)
		md = binary.BigEndian.AppendUint32(md, uint32(i))
		md = binary.BigEndian.AppendUint32(md, 0)
	}
	frame := rawFrame(u32(1), []byte("p"), u32(1), []byte("m"), u32(uint32(len(md))), md, u32(0))
	m := NewMessage()
	n := allocatedDuring(func() {
		if err := m.Unmarshal(frame, nil); !errors.Is(err, ErrTooManyMetadata) {
			t.Fatalf("err %v", err)
		}
	})
	// A map of 1M entries would take tens of MiB; 1024 entries take little.
	if n > 1<<20 {
		t.Fatalf("refusing 1M metadata entries allocated %d bytes", n)
	}
	if err := m.Decode(bytes.NewReader(frame)); !errors.Is(err, ErrTooManyMetadata) {
		t.Fatalf("Decode: %v", err)
	}
	if m.Metadata != nil {
		t.Fatalf("refused metadata kept %d entries", len(m.Metadata))
	}

	small := sampleMessage().Encode() // 3 entries
	for _, tt := range []struct {
		max  int
		want error
	}{{2, ErrTooManyMetadata}, {3, nil}, {NoLimit, nil}, {0, nil}} {
		lim := Limits{MaxMetadataEntries: tt.max}.Resolve()
		if err := NewMessage().Unmarshal(small, &lim); !errors.Is(err, tt.want) {
			t.Fatalf("max %d: %v, want %v", tt.max, err, tt.want)
		}
	}
	const some = 5000
	lim := Limits{MaxMetadataEntries: NoLimit}.Resolve()
	frame = rawFrame(u32(1), []byte("p"), u32(1), []byte("m"), u32(some*12), md[:some*12], u32(0))
	if err := m.Unmarshal(frame, &lim); err != nil || len(m.Metadata) != some {
		t.Fatalf("NoLimit: %v, %d entries", err, len(m.Metadata))
	}
}

// zeroMember is one gzip member holding 1 MiB of zeros (about 1 KiB).
var zeroMember = sync.OnceValue(func() []byte {
	var one bytes.Buffer
	w, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	_, _ = w.Write(make([]byte, 1<<20))
	_ = w.Close()
	return one.Bytes()
})

// gzipBomb returns a multi-member gzip stream that inflates to members MiB
// of zeros.
func gzipBomb(t *testing.T, members int) []byte {
	t.Helper()
	return bytes.Repeat(zeroMember(), members)
}

func TestGzipBomb(t *testing.T) {
	bomb := gzipBomb(t, 1024) // 1 GiB of zeros
	if len(bomb) > 2<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	m := newMsg(Request, SerializeNone, 1, "s", "m", nil, bomb)
	frame := m.Encode() // not compressed: the bomb goes as is
	frame[2] |= byte(Gzip) << 2

	lim := DefaultLimits()
	got := NewMessage()
	// Total allocation bounds the peak heap growth.
	n := allocatedDuring(func() {
		if err := got.Unmarshal(frame, &lim); !errors.Is(err, ErrDecompressedTooLarge) {
			t.Fatalf("err %v", err)
		}
	})
	if n > 2*uint64(lim.MaxDecompressedSize) {
		t.Fatalf("bomb allocated %d bytes, limit %d", n, lim.MaxDecompressedSize)
	}
	t.Logf("bomb of %d bytes (1 GiB inflated): %d bytes allocated, limit %d", len(bomb), n, lim.MaxDecompressedSize)

	// Smaller explicit limit; and exactly at the limit is accepted.
	small := Limits{MaxDecompressedSize: 1 << 20}.Resolve()
	two := newMsg(Request, SerializeNone, 1, "s", "m", nil, gzipBomb(t, 2)).Encode()
	two[2] |= byte(Gzip) << 2
	if err := got.Unmarshal(two, &small); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("2 MiB over 1 MiB limit: %v", err)
	}
	one := newMsg(Request, SerializeNone, 1, "s", "m", nil, gzipBomb(t, 1)).Encode()
	one[2] |= byte(Gzip) << 2
	if err := got.Unmarshal(one, &small); err != nil || len(got.Payload) != 1<<20 {
		t.Fatalf("1 MiB at 1 MiB limit: %v, %d bytes", err, len(got.Payload))
	}
	if _, err := (GzipCompressor{}).Unzip(bomb); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("GzipCompressor.Unzip: %v", err)
	}
}

func TestLimitsResolve(t *testing.T) {
	tests := []struct {
		name   string
		global int
		in     Limits
		want   Limits
	}{
		{"defaults", 0, Limits{}, Limits{DefaultMaxMessageLength, DefaultMaxMetadataEntries, DefaultMaxMessageLength}},
		{"explicit", 0, Limits{10, 20, 30}, Limits{10, 20, 30}},
		{"decompressed follows length", 0, Limits{MaxMessageLength: 10}, Limits{10, DefaultMaxMetadataEntries, 10}},
		{"no limit", 0, Limits{NoLimit, NoLimit, NoLimit}, Limits{NoLimit, NoLimit, NoLimit}},
		{"no length limit, decompressed follows", 0, Limits{MaxMessageLength: NoLimit}, Limits{NoLimit, DefaultMaxMetadataEntries, NoLimit}},
		{"global MaxMessageLength", 1000, Limits{}, Limits{1000, DefaultMaxMetadataEntries, 1000}},
		{"explicit beats global", 1000, Limits{MaxMessageLength: 50}, Limits{50, DefaultMaxMetadataEntries, 50}},
		{"NoLimit beats global", 1000, Limits{MaxMessageLength: NoLimit}, Limits{NoLimit, DefaultMaxMetadataEntries, NoLimit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setGlobalMax(t, tt.global)
			if got := tt.in.Resolve(); got != tt.want {
				t.Fatalf("Resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func setGlobalMax(t *testing.T, n int) {
	t.Helper()
	old := MaxMessageLength
	MaxMessageLength = n
	t.Cleanup(func() { MaxMessageLength = old })
}

func TestGlobalMaxMessageLength(t *testing.T) {
	frame := newMsg(Request, SerializeNone, 1, "s", "m", nil, make([]byte, 200)).Encode()
	setGlobalMax(t, 100)
	if err := NewMessage().Decode(bytes.NewReader(frame)); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("Decode with MaxMessageLength=100: %v", err)
	}
	if _, err := Read(bytes.NewReader(frame)); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("Read: %v", err)
	}
	lim := Limits{MaxMessageLength: NoLimit}.Resolve()
	if err := NewMessage().DecodeLimited(bytes.NewReader(frame), &lim); err != nil {
		t.Fatalf("NoLimit: %v", err)
	}
}
