package protocol

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Compressor compresses and decompresses payloads.
type Compressor interface {
	Zip([]byte) ([]byte, error)
	Unzip([]byte) ([]byte, error)
}

// Compressors maps a compress type to its compressor. None and Gzip are
// built in (and always used for their types); register others before any
// server or client is created. The map is copied when a Limits value is
// resolved (NewServer and NewClient do it) and never read per message: a
// change made later is seen only from the next resolve on. It is not safe
// to change it concurrently with creating servers or clients.
var Compressors = map[CompressType]Compressor{
	None: RawDataCompressor{},
	Gzip: GzipCompressor{},
}

// compressors is the copy of Compressors that encoding and decoding read
// (lock-free); nil until the first resolve or lookup takes it.
var (
	compressors   atomic.Pointer[map[CompressType]Compressor]
	compressorsMu sync.Mutex // serializes copying Compressors
)

// snapshotCompressors copies Compressors into compressors unless the copy
// already has the same entries.
func snapshotCompressors() {
	compressorsMu.Lock()
	defer compressorsMu.Unlock()
	if p := compressors.Load(); p != nil && sameCompressors(*p, Compressors) {
		return
	}
	m := make(map[CompressType]Compressor, len(Compressors))
	for ct, c := range Compressors {
		m[ct] = c
	}
	compressors.Store(&m)
}

// sameCompressors reports whether a and b map the same types to equal
// compressors (compressors of a non-comparable type count as different).
func sameCompressors(a, b map[CompressType]Compressor) bool {
	if len(a) != len(b) {
		return false
	}
	for ct, c := range b {
		d, ok := a[ct]
		if !ok || !equalCompressor(c, d) {
			return false
		}
	}
	return true
}

func equalCompressor(a, b Compressor) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false // a non-comparable dynamic type
		}
	}()
	return a == b
}

// compressorFor returns the compressor of a custom compress type from the
// copy of Compressors, or nil.
func compressorFor(ct CompressType) Compressor {
	p := compressors.Load()
	if p == nil {
		snapshotCompressors()
		p = compressors.Load()
	}
	return (*p)[ct]
}

// CompressThreshold is the payload size (1,024 bytes, rpcx's value) a
// payload must exceed before a server compresses a reply: a reply is
// compressed only when its payload is longer and the request was
// compressed, since gzip makes small payloads larger.
const CompressThreshold = 1024

// RawDataCompressor leaves data as it is.
type RawDataCompressor struct{}

// Zip returns data unchanged.
func (RawDataCompressor) Zip(data []byte) ([]byte, error) { return data, nil }

// Unzip returns data unchanged.
func (RawDataCompressor) Unzip(data []byte) ([]byte, error) { return data, nil }

// GzipCompressor compresses with gzip. Unzip inflates through the default
// limit (DefaultMaxMessageLength); decoders use their own Limits.
type GzipCompressor struct{}

// Zip gzips data.
func (GzipCompressor) Zip(data []byte) ([]byte, error) { return gzipAppend(nil, data) }

// Unzip inflates data, refusing output over DefaultMaxMessageLength.
func (GzipCompressor) Unzip(data []byte) ([]byte, error) {
	return gunzipLimited(data, DefaultLimits().MaxDecompressedSize)
}

// gzipWriters holds writers at gzip's default level: with the flush below
// this makes courier's gzip payloads byte-identical to rpcx's.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

var gzipReaders sync.Pool

// gzipAppend appends the gzip encoding of data to dst. Like rpcx it flushes
// before closing (an empty stored block), so both produce the same bytes.
func gzipAppend(dst, data []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(buf)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gunzipLimited inflates data and fails with ErrDecompressedTooLarge when the
// output would exceed limit bytes (limit <= 0: no limit).
func gunzipLimited(data []byte, limit int) ([]byte, error) {
	var r *gzip.Reader
	if v := gzipReaders.Get(); v != nil {
		r = v.(*gzip.Reader)
		if err := r.Reset(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("protocol: gzip: %w", err)
		}
	} else {
		var err error
		if r, err = gzip.NewReader(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("protocol: gzip: %w", err)
		}
	}
	defer gzipReaders.Put(r)
	out, err := readAllLimited(r, min(4*len(data)+64, max(limit, 64)), limit)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readAllLimited reads r to its end into a buffer that starts at size bytes
// and doubles, never past limit+1 bytes, so inflating a bomb costs at most
// about twice the limit in total allocations. It fails with
// ErrDecompressedTooLarge when r has more than limit bytes (limit <= 0: no
// limit).
func readAllLimited(r io.Reader, size, limit int) ([]byte, error) {
	if limit > 0 {
		size = min(size, limit+1)
	}
	buf := make([]byte, 0, max(size, 64))
	for {
		if len(buf) == cap(buf) {
			if limit > 0 && len(buf) > limit {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrDecompressedTooLarge, limit)
			}
			newCap := 2 * cap(buf)
			if limit > 0 {
				newCap = min(newCap, limit+1)
			}
			nb := make([]byte, len(buf), newCap)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if limit > 0 && len(buf) > limit {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrDecompressedTooLarge, limit)
			}
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("protocol: gzip: %w", err)
		}
	}
}
