package protocol

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"
)

// Compressor compresses and decompresses payloads.
type Compressor interface {
	Zip([]byte) ([]byte, error)
	Unzip([]byte) ([]byte, error)
}

// Compressors maps a compress type to its compressor. None and Gzip are
// built in; register others at init time, before any server or client
// starts (the map is read concurrently afterwards and must not change).
var Compressors = map[CompressType]Compressor{
	None: RawDataCompressor{},
	Gzip: GzipCompressor{},
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
