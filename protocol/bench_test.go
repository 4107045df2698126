package protocol

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"testing"
)

// benchMessages are a small request (~100-byte payload, no metadata, as a
// call without deadline sends), the same with one metadata entry (a call
// with a deadline), and one with rpcx's 581-byte benchmark payload.
func benchMessages() []struct {
	name string
	msg  *Message
} {
	small := newMsg(Request, MsgPack, 12345, "Arith", "Mul", nil, bytes.Repeat([]byte{0xa5}, 100))
	meta := small.Clone()
	meta.Metadata = map[string]string{"__courier_deadline": "1000"}
	big := newMsg(Request, ProtoBuffer, 12345, "Hello", "Say", nil, bytes.Repeat([]byte{0x5a}, 581))
	return []struct {
		name string
		msg  *Message
	}{{"small", small}, {"small_meta", meta}, {"581B", big}}
}

func BenchmarkEncode(b *testing.B) {
	for _, bm := range benchMessages() {
		m := bm.msg
		b.Run(bm.name+"/AppendTo", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2048)
			for b.Loop() {
				out, err := m.AppendTo(buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				buf = out
			}
			b.SetBytes(int64(len(buf)))
		})
		b.Run(bm.name+"/Encode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if m.Encode() == nil {
					b.Fatal("nil")
				}
			}
		})
		b.Run(bm.name+"/EncodeSlicePointer", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				PutData(m.EncodeSlicePointer())
			}
		})
		b.Run(bm.name+"/WriteTo", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// repeatReader returns the same frame forever.
type repeatReader struct {
	frame []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.frame[r.off:])
		n += c
		r.off = (r.off + c) % len(r.frame)
	}
	return n, nil
}

func BenchmarkDecode(b *testing.B) {
	for _, bm := range benchMessages() {
		frame := bm.msg.Encode()
		b.Run(bm.name+"/bytes.Reader", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			m := GetPooledMsg()
			defer FreeMsg(m)
			r := bytes.NewReader(frame)
			for b.Loop() {
				r.Reset(frame)
				if err := m.Decode(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bm.name+"/bufio", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			m := GetPooledMsg()
			defer FreeMsg(m)
			r := bufio.NewReaderSize(&repeatReader{frame: frame}, 16<<10)
			lim := DefaultLimits()
			for b.Loop() {
				if err := m.DecodeLimited(r, &lim); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The server's pattern: a pooled message per frame, freed after use.
		b.Run(bm.name+"/bufio_pool_cycle", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			r := bufio.NewReaderSize(&repeatReader{frame: frame}, 16<<10)
			lim := DefaultLimits()
			for b.Loop() {
				m := GetPooledMsg()
				if err := m.DecodeLimited(r, &lim); err != nil {
					b.Fatal(err)
				}
				FreeMsg(m)
			}
		})
		b.Run(bm.name+"/Unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			m := NewMessage()
			lim := DefaultLimits()
			for b.Loop() {
				if err := m.Unmarshal(frame, &lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeAllocs pins the allocation counts the benchmarks report, so a
// regression fails the normal test run.
func TestDecodeAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are exact only without -race and -short")
	}
	for _, bm := range benchMessages() {
		frame := bm.msg.Encode()
		want := 0.0
		if len(bm.msg.Metadata) > 0 {
			want = 3 // the map (header and one group) and one string for all keys and values
		}
		t.Run(bm.name, func(t *testing.T) {
			r := bufio.NewReader(&repeatReader{frame: frame})
			lim := DefaultLimits()
			got := testing.AllocsPerRun(200, func() {
				m := GetPooledMsg()
				if err := m.DecodeLimited(r, &lim); err != nil {
					t.Fatal(err)
				}
				FreeMsg(m)
			})
			t.Logf("%v allocations per decode", got)
			if got > want {
				t.Fatalf("%v allocations per decode into a pooled message, want <= %v", got, want)
			}
			buf := make([]byte, 0, 2048)
			if enc := testing.AllocsPerRun(200, func() {
				var err error
				if buf, err = bm.msg.AppendTo(buf[:0]); err != nil {
					t.Fatal(err)
				}
			}); enc != 0 {
				t.Fatalf("%v allocations per AppendTo into a large enough buffer", enc)
			}
		})
	}
}

func BenchmarkGzipRoundTrip(b *testing.B) {
	m := newMsg(Request, JSON, 1, "Arith", "Mul", nil, []byte(strconv.Quote(string(bytes.Repeat([]byte("courier rpc "), 50)))))
	m.SetCompressType(Gzip)
	frame := m.Encode()
	b.ReportAllocs()
	got := NewMessage()
	for b.Loop() {
		if err := got.Unmarshal(m.Encode(), nil); err != nil {
			b.Fatal(err)
		}
	}
	_ = frame
}
