package protocol

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

// fuzzLimits keep fuzzing fast; NoLimit on re-decode lets a re-compressed
// payload grow past the original frame size.
var (
	fuzzLimits   = Limits{MaxMessageLength: 1 << 20, MaxMetadataEntries: 64, MaxDecompressedSize: 1 << 20}.Resolve()
	reDecodeLims = Limits{MaxMessageLength: NoLimit, MaxMetadataEntries: 64, MaxDecompressedSize: 1 << 20}.Resolve()
)

// decodeErrors lists every sentinel a decoder may wrap; anything else is a bug.
var decodeErrors = []error{
	io.EOF, ErrTruncated, ErrBadMagic, ErrUnsupportedVersion, ErrMessageTooLong,
	ErrTooManyMetadata, ErrMetaKVMissing, ErrDecompressedTooLarge, ErrUnsupportedCompressor,
}

func knownDecodeError(err error) bool {
	for _, e := range decodeErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return isGzipError(err)
}

// isGzipError reports errors of the gzip decompressor (corrupt stream).
func isGzipError(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &corrupt)
}

func addGoldenSeeds(f *testing.F) {
	f.Helper()
	for _, gc := range goldenCases() {
		f.Add(readGolden(f, gc.name))
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder. It must never panic or
// return an unexpected error; whatever it accepts must re-encode to a frame
// that decodes to an equal message, and Unmarshal must agree with Decode.
func FuzzDecode(f *testing.F) {
	addGoldenSeeds(f)
	f.Add([]byte{})
	f.Add([]byte{0x08})
	f.Add([]byte{0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Add(append(readGolden(f, "request"), readGolden(f, "response")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := NewMessage()
		err := m.DecodeLimited(bytes.NewReader(data), &fuzzLimits)

		// Unmarshal of the same frame must agree with Decode.
		if n, ok := FrameLength(data); ok && n <= len(data) && n >= HeaderSize {
			u := NewMessage()
			uerr := u.Unmarshal(data[:n], &fuzzLimits)
			if (err == nil) != (uerr == nil) {
				t.Fatalf("Decode err %v, Unmarshal err %v", err, uerr)
			}
			if err == nil && !sameMessage(m, u) {
				t.Fatalf("Decode %v != Unmarshal %v", m, u)
			}
		}
		if err != nil {
			if !knownDecodeError(err) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		enc, err := m.AppendTo(nil)
		if err != nil {
			t.Fatalf("re-encode of accepted frame: %v", err)
		}
		m2 := NewMessage()
		if err := m2.DecodeLimited(bytes.NewReader(enc), &reDecodeLims); err != nil {
			t.Fatalf("decode of re-encoded frame: %v\n%x", err, enc)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("round trip changed the message:\n%v\n%v", m, m2)
		}
		// Decoding again into a used message (buffer and strings reused)
		// gives the same result.
		if err := m2.DecodeLimited(bytes.NewReader(data), &fuzzLimits); err != nil || !sameMessage(m, m2) {
			t.Fatalf("decode into reused message: %v, %v != %v", err, m2, m)
		}
	})
}

// FuzzRoundTrip builds a message from fuzzed fields, encodes it and decodes
// it back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(1), byte(0), byte(3), "Arith", "Mul", "__ID", "1", "", "", []byte{0x82, 0xa1, 'A', 0x0a})
	f.Add(uint64(0), byte(0xff), byte(0xff), "", "", "", "", "", "", []byte(nil))
	f.Add(^uint64(0), byte(0x0a), byte(1), "a/b", "c", ServiceError, "boom", "__courier_code", "13", []byte("xyz"))
	f.Add(uint64(7), byte(0x08), byte(1), "s", "m", "k", "v", "k", "w", bytes.Repeat([]byte("ab"), 300))
	f.Fuzz(func(t *testing.T, seq uint64, flags, ser byte, path, method, k1, v1, k2, v2 string, payload []byte) {
		m := NewMessage()
		m.SetSeq(seq)
		m.SetMessageType(MessageType(flags & 1))
		m.SetHeartbeat(flags&2 != 0)
		m.SetOneway(flags&4 != 0)
		m.SetCompressType(CompressType(flags >> 3 & 1))
		m.SetMessageStatusType(MessageStatusType(flags >> 4 & 3))
		m.SetSerializeType(SerializeType(ser))
		m.ServicePath, m.ServiceMethod, m.Payload = path, method, payload
		if k1 != "" || v1 != "" {
			m.Metadata = map[string]string{k1: v1}
		}
		if k2 != "" {
			if m.Metadata == nil {
				m.Metadata = map[string]string{}
			}
			m.Metadata[k2] = v2
		}
		want := m.Clone()

		enc, err := m.AppendTo(nil)
		if err != nil {
			t.Fatalf("AppendTo: %v", err)
		}
		if !sameMessage(m, want) {
			t.Fatalf("AppendTo changed the message")
		}
		if n, ok := FrameLength(enc); !ok || n != len(enc) {
			t.Fatalf("FrameLength %d, frame %d bytes", n, len(enc))
		}
		if len(m.Metadata) <= 1 {
			if e2 := m.Encode(); !bytes.Equal(e2, enc) {
				t.Fatalf("Encode != AppendTo")
			}
		}
		got := NewMessage()
		if err := got.DecodeLimited(bytes.NewReader(enc), &reDecodeLims); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !sameMessage(got, want) {
			t.Fatalf("round trip:\n got %v\nwant %v", got, want)
		}
		un := NewMessage()
		if err := un.Unmarshal(enc, &reDecodeLims); err != nil || !sameMessage(un, want) {
			t.Fatalf("Unmarshal: %v %v", err, un)
		}
	})
}
