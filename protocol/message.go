package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"unsafe"
)

// Message is one frame: a request, a response, a heartbeat or a server
// notification. A Message is not safe for concurrent use.
type Message struct {
	*Header
	// ServicePath names the service (the registered name).
	ServicePath string
	// ServiceMethod names the method of the service.
	ServiceMethod string
	// Metadata carries string key/value pairs; nil when there are none.
	Metadata map[string]string
	// Payload is the encoded argument or reply. After Decode it may share
	// memory with the message's read buffer: it is valid until the message
	// is decoded into again, reset or freed.
	Payload []byte

	data []byte // read buffer reused across Decode calls

	// extra is one more metadata entry to send (SetExtraMetadata); the
	// empty key: none.
	extraKey, extraValue string

	// Last decoded service path and method. They survive Reset, so a pooled
	// message that decodes the same names again allocates no strings.
	lastPath, lastMethod string
	hdr                  [HeaderSize]byte // scratch for DecodeLimited
}

// NewMessage returns a message with the magic number set and everything
// else zero.
func NewMessage() *Message {
	b := new(messageBlock)
	b.hdr = Header{magicNumber}
	b.msg.Header = &b.hdr
	return &b.msg
}

// messageBlock is a Message and its Header in one allocation. A Header
// allocated on its own (12 bytes) shares a 16-byte block, and a cache
// line, with other small objects: the headers of messages that other
// goroutines on other cores write. Next to its message, the header is on
// the lines its reader touches anyway.
//
// Its size is a multiple of 64 bytes: objects of such a size class start
// on cache-line boundaries, so two messages (one decoded by a reader, the
// other read by a caller on another core) never share a line.
//
// The padding comes first: a zero-length last field would itself be
// padded (so that no pointer to it points past the block).
type messageBlock struct {
	_ [(64 - unsafe.Sizeof(messageFields{})%64) % 64]byte
	messageFields
}

// messageFields are messageBlock's fields, without its padding.
type messageFields struct {
	hdr Header
	msg Message
}

var msgPool = sync.Pool{New: func() any { return NewMessage() }}

// GetPooledMsg returns a reset message from a pool. Return it with FreeMsg
// when no reference to it, its Metadata or its Payload remains.
func GetPooledMsg() *Message { return msgPool.Get().(*Message) }

// FreeMsg resets msg and returns it to the pool. msg may be nil.
func FreeMsg(msg *Message) {
	if msg == nil {
		return
	}
	msg.Reset()
	if cap(msg.data) > bigStep { // large buffers go to their own pools
		putBig(msg.data)
		msg.data = nil
	}
	msgPool.Put(msg)
}

// Reset clears the message for reuse, keeping its read buffer and the last
// decoded service names (so decoding them again allocates nothing).
func (m *Message) Reset() {
	if m.Header == nil {
		m.Header = &Header{}
	}
	*m.Header = Header{magicNumber}
	m.ServicePath = ""
	m.ServiceMethod = ""
	m.Metadata = nil
	m.Payload = nil
	m.data = m.data[:0]
	m.extraKey, m.extraValue = "", ""
}

// SetExtraMetadata gives m one more metadata entry to send, without a map
// to build for it: it is encoded after Metadata's entries (an entry of
// Metadata with the same key is left out), it is not in Metadata, and
// Reset and Decode clear it. A second call replaces the entry; an empty
// key removes it. The client sends a call's deadline (share.DeadlineKey)
// this way instead of copying the caller's metadata into a new map.
func (m *Message) SetExtraMetadata(key, value string) {
	m.extraKey, m.extraValue = key, value
}

// ExtraMetadata returns the entry SetExtraMetadata set (an empty key when
// there is none).
func (m *Message) ExtraMetadata() (key, value string) { return m.extraKey, m.extraValue }

// PayloadBuffer returns the message's reusable buffer, emptied, to encode a
// payload into (hand the result to SetPayloadBuffer). It is the buffer
// Decode reads frames into, so a decoded message's Payload lives there:
// call it only on a message whose decoded payload is no longer needed.
func (m *Message) PayloadBuffer() []byte { return m.data[:0] }

// SetPayloadBuffer sets Payload to b and keeps b as the message's reusable
// buffer, so the next message from the pool encodes or decodes into it
// without allocating. b must not be used by anyone else once the message
// is reset or freed.
func (m *Message) SetPayloadBuffer(b []byte) {
	m.Payload = b
	m.data = b[:0]
}

// Clone returns a deep copy of m, including its metadata and payload.
func (m Message) Clone() *Message {
	c := NewMessage()
	if m.Header != nil {
		*c.Header = *m.Header
	}
	c.ServicePath, c.ServiceMethod = m.ServicePath, m.ServiceMethod
	if len(m.Metadata) > 0 {
		c.Metadata = make(map[string]string, len(m.Metadata))
		for k, v := range m.Metadata {
			c.Metadata[k] = v
		}
	}
	if m.Payload != nil {
		c.Payload = append([]byte(nil), m.Payload...)
	}
	c.extraKey, c.extraValue = m.extraKey, m.extraValue
	return c
}

// Encode returns the wire encoding of m. If the payload cannot be compressed
// it is sent uncompressed and the compress bits are cleared, as rpcx does.
// Use AppendTo to learn about errors and to reuse buffers.
func (m Message) Encode() []byte {
	b, err := m.appendLenient(nil)
	if err != nil {
		return nil
	}
	return b
}

// appendLenient is AppendTo, except that a payload that cannot be compressed
// (unknown compress type, compressor error) is sent uncompressed with the
// compress bits cleared in the encoded header, as rpcx's Encode does. m's
// own header is not changed.
func (m Message) appendLenient(dst []byte) ([]byte, error) {
	b, err := m.AppendTo(dst)
	if err == nil || errors.Is(err, ErrFieldTooLong) {
		return b, err
	}
	h := Header{magicNumber}
	if m.Header != nil {
		h = *m.Header
	}
	h.SetCompressType(None)
	m.Header = &h
	return m.AppendTo(dst)
}

var dataPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// EncodeSlicePointer returns the encoding of m in a pooled buffer; give it
// back with PutData. Compression failures are handled as in Encode; a
// message too long to encode gives an empty slice.
func (m Message) EncodeSlicePointer() *[]byte {
	bp := dataPool.Get().(*[]byte)
	b, err := m.appendLenient((*bp)[:0])
	if err != nil {
		b = b[:0]
	}
	*bp = b
	return bp
}

// PutData returns a buffer from EncodeSlicePointer to the pool.
func PutData(data *[]byte) {
	if data != nil && cap(*data) <= 64<<10 {
		dataPool.Put(data)
	}
}

// WriteTo writes the encoding of m to w.
func (m Message) WriteTo(w io.Writer) (int64, error) {
	bp := dataPool.Get().(*[]byte)
	defer PutData(bp)
	b, err := m.AppendTo((*bp)[:0])
	if err != nil {
		return 0, err
	}
	*bp = b
	n, err := w.Write(b)
	return int64(n), err
}

// AppendTo appends the wire encoding of m to dst and returns the extended
// slice. The payload is compressed if the compress type asks for it; an
// unknown compress type is an error wrapping ErrUnsupportedCompressor.
func (m *Message) AppendTo(dst []byte) ([]byte, error) {
	dst, payload, err := m.appendHead(dst, true)
	if err != nil {
		return dst, err
	}
	return append(dst, payload...), nil
}

// LargePayload is the payload size from which writers send a payload from
// where it lies (writev, AppendHead) instead of copying it into their
// write buffer.
const LargePayload = 64 << 10

// AppendHead appends the encoding of m without its payload bytes (the
// payload length is included) and returns the payload that must follow it
// on the wire: m.Payload, or its compressed form. Writers use it to send a
// large payload with writev instead of copying it.
func (m *Message) AppendHead(dst []byte) (head, payload []byte, err error) {
	return m.appendHead(dst, false)
}

// appendHead is AppendHead; withRoom grows dst for the payload too.
func (m *Message) appendHead(dst []byte, withRoom bool) (head, payload []byte, err error) {
	payload = m.Payload
	h := Header{magicNumber}
	if m.Header != nil {
		h = *m.Header
	}
	switch ct := h.CompressType(); ct {
	case None:
	case Gzip:
		// An empty payload is compressed too (23 bytes): rpcx's decoder
		// rejects a gzip-flagged payload that is not a gzip stream.
		z, err := gzipAppend(nil, payload)
		if err != nil {
			return dst, nil, fmt.Errorf("protocol: gzip: %w", err)
		}
		payload = z
	default:
		c := compressorFor(ct)
		if c == nil {
			return dst, nil, fmt.Errorf("%w: %d", ErrUnsupportedCompressor, ct)
		}
		z, err := c.Zip(payload)
		if err != nil {
			return dst, nil, fmt.Errorf("protocol: compress: %w", err)
		}
		payload = z
	}

	metaLen := m.metadataLen()
	total := 4 + len(m.ServicePath) + 4 + len(m.ServiceMethod) + 4 + metaLen + 4 + len(payload)
	if total > math.MaxUint32 || metaLen > math.MaxUint32 {
		return dst, nil, ErrFieldTooLong
	}
	room := HeaderSize + total
	if !withRoom {
		room -= len(payload)
	}
	dst = grow(dst, room)
	dst = append(dst, h[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = appendString(dst, m.ServicePath)
	dst = appendString(dst, m.ServiceMethod)
	dst = binary.BigEndian.AppendUint32(dst, uint32(metaLen))
	for k, v := range m.Metadata {
		if m.extraKey != "" && k == m.extraKey {
			continue
		}
		dst = appendString(dst, k)
		dst = appendString(dst, v)
	}
	if m.extraKey != "" {
		dst = appendString(dst, m.extraKey)
		dst = appendString(dst, m.extraValue)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return dst, payload, nil
}

// metadataLen is the encoded length of m's metadata entries: Metadata's
// and the extra entry, which replaces Metadata's entry of its key.
func (m *Message) metadataLen() int {
	n := 0
	for k, v := range m.Metadata {
		n += 8 + len(k) + len(v)
	}
	if m.extraKey != "" {
		if v, ok := m.Metadata[m.extraKey]; ok {
			n -= 8 + len(m.extraKey) + len(v)
		}
		n += 8 + len(m.extraKey) + len(m.extraValue)
	}
	return n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	// Grow geometrically: writers append frame after frame to one batch.
	nb := make([]byte, len(b), max(2*cap(b), len(b)+n))
	copy(nb, b)
	return nb
}

// Read decodes one message from r with the default limits.
func Read(r io.Reader) (*Message, error) {
	m := NewMessage()
	if err := m.Decode(r); err != nil {
		return nil, err
	}
	return m, nil
}

// Decode reads one frame from r into m with the default limits.
func (m *Message) Decode(r io.Reader) error {
	lim := DefaultLimits()
	return m.DecodeLimited(r, &lim)
}

// DecodeLimited reads one frame from r into m, enforcing lim (which must be
// resolved; see Limits.Resolve). The frame length is checked against the
// limit before the body is read, and the body buffer grows as bytes arrive,
// so a peer that claims a long frame and sends little costs little memory.
func (m *Message) DecodeLimited(r io.Reader, lim *Limits) error {
	if m.Header == nil {
		m.Header = &Header{}
	}
	hdr := &m.hdr // in the message: a local array would escape to the heap
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return err // io.EOF between frames is a clean end
	}
	if hdr[0] != magicNumber {
		return fmt.Errorf("%w: 0x%02x", ErrBadMagic, hdr[0])
	}
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return fmt.Errorf("%w: header: %w", ErrTruncated, err)
	}
	if hdr[1] != Version {
		return fmt.Errorf("%w: %d", ErrUnsupportedVersion, hdr[1])
	}
	copy(m.Header[:], hdr[:12])
	total := int(binary.BigEndian.Uint32(hdr[12:]))
	if exceeds(total, lim.MaxMessageLength) {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLong, total, lim.MaxMessageLength)
	}
	data, err := readBody(r, m.data[:0], total)
	m.data = data
	if err != nil {
		return fmt.Errorf("%w: body: %w", ErrTruncated, err)
	}
	return m.parseBody(data, lim)
}

// Read buffers of frames longer than bigStep (up to bigMax) are pooled by
// size, in steps of bigStep: a connection receiving 1 MiB payloads reuses
// its buffers instead of allocating (and zeroing) one per frame.
const (
	bigStep = 64 << 10
	bigMax  = 1<<20 + bigStep
)

var bigBufs [bigMax / bigStep]sync.Pool // index: size/bigStep - 1

// getBig returns a buffer of length n, pooled when n is a big size.
func getBig(n int) []byte {
	if n <= bigStep || n > bigMax {
		return make([]byte, n)
	}
	k := (n + bigStep - 1) / bigStep
	if p, ok := bigBufs[k-1].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, k*bigStep)
}

// putBig returns a buffer made by getBig to its pool; others are dropped.
func putBig(b []byte) {
	c := cap(b)
	if c <= bigStep || c > bigMax || c%bigStep != 0 {
		return
	}
	b = b[:0]
	bigBufs[c/bigStep-1].Put(&b)
}

// readBody reads n bytes into buf, growing it at most by doubling past 64 KiB
// so that memory follows the bytes actually received.
func readBody(r io.Reader, buf []byte, n int) ([]byte, error) {
	// Bodies up to eager bytes are allocated at once (one read, no copies);
	// longer ones grow as their bytes arrive, so a peer that claims a long
	// frame and sends little costs at most eager bytes.
	const step, eager = bigStep, bigMax // a 1 MiB payload plus its framing
	if cap(buf) >= n || n <= eager {
		if cap(buf) < n {
			buf = getBig(n)
		}
		buf = buf[:n]
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	buf = buf[:0]
	for len(buf) < n {
		want := min(n, max(2*len(buf), step))
		if cap(buf) < want {
			nb := make([]byte, len(buf), want)
			copy(nb, buf)
			buf = nb
		}
		k, err := io.ReadFull(r, buf[len(buf):want])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// Unmarshal decodes a whole frame held in data (header included) into m with
// lim (nil: default limits). The payload shares memory with data.
func (m *Message) Unmarshal(data []byte, lim *Limits) error {
	if lim == nil {
		l := DefaultLimits()
		lim = &l
	}
	if m.Header == nil {
		m.Header = &Header{}
	}
	if len(data) < HeaderSize {
		return fmt.Errorf("%w: %d header bytes", ErrTruncated, len(data))
	}
	if data[0] != magicNumber {
		return fmt.Errorf("%w: 0x%02x", ErrBadMagic, data[0])
	}
	if data[1] != Version {
		return fmt.Errorf("%w: %d", ErrUnsupportedVersion, data[1])
	}
	copy(m.Header[:], data[:12])
	total := int(binary.BigEndian.Uint32(data[12:]))
	if exceeds(total, lim.MaxMessageLength) {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLong, total, lim.MaxMessageLength)
	}
	if total != len(data)-HeaderSize {
		return fmt.Errorf("%w: length says %d, frame has %d", ErrTruncated, total, len(data)-HeaderSize)
	}
	return m.parseBody(data[HeaderSize:], lim)
}

// parseBody splits a frame body into its fields.
func (m *Message) parseBody(data []byte, lim *Limits) error {
	var (
		field []byte
		err   error
	)
	m.extraKey, m.extraValue = "", ""
	if field, data, err = cut(data, "service path"); err != nil {
		return err
	}
	m.ServicePath = intern(field, &m.lastPath)
	if field, data, err = cut(data, "service method"); err != nil {
		return err
	}
	m.ServiceMethod = intern(field, &m.lastMethod)
	if field, data, err = cut(data, "metadata"); err != nil {
		return err
	}
	if m.Metadata, err = decodeMetadata(field, m.Metadata, lim.MaxMetadataEntries); err != nil {
		return err
	}
	if field, data, err = cut(data, "payload"); err != nil {
		return err
	}
	if len(data) != 0 {
		return fmt.Errorf("%w: %d bytes after payload", ErrTruncated, len(data))
	}
	m.Payload = field
	switch ct := m.CompressType(); ct {
	case None:
	case Gzip:
		if len(field) > 0 {
			if m.Payload, err = gunzipLimited(field, lim.MaxDecompressedSize); err != nil {
				return err
			}
		}
	default:
		c := compressorFor(ct)
		if c == nil {
			return fmt.Errorf("%w: %d", ErrUnsupportedCompressor, ct)
		}
		if m.Payload, err = c.Unzip(field); err != nil {
			return fmt.Errorf("protocol: decompress: %w", err)
		}
		if exceeds(len(m.Payload), lim.MaxDecompressedSize) {
			return fmt.Errorf("%w: %d bytes", ErrDecompressedTooLarge, len(m.Payload))
		}
	}
	return nil
}

// intern returns b as a string, reusing *last when it is equal (no
// allocation) and remembering b otherwise.
func intern(b []byte, last *string) string {
	if *last != string(b) {
		*last = string(b)
	}
	return *last
}

// cut splits a uint32-length-prefixed field off the front of data.
func cut(data []byte, what string) (field, rest []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%w: no length for %s", ErrTruncated, what)
	}
	n := uint64(binary.BigEndian.Uint32(data))
	if n > uint64(len(data)-4) {
		return nil, nil, fmt.Errorf("%w: %s length %d, %d bytes left", ErrTruncated, what, n, len(data)-4)
	}
	return data[4 : 4+n], data[4+n:], nil
}

// decodeMetadata parses metadata entries, reusing md's storage when it is
// non-nil. Empty metadata yields nil: no map is allocated. A first pass
// checks the entries without allocating; then all keys and values are
// sliced from one string, so the strings cost one allocation in total.
func decodeMetadata(data []byte, md map[string]string, maxEntries int) (map[string]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	count := 0
	for rest := data; len(rest) > 0; {
		count++
		if exceeds(count, maxEntries) {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyMetadata, maxEntries)
		}
		var err error
		if _, rest, err = cut(rest, "metadata key"); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMetaKVMissing, err)
		}
		if _, rest, err = cut(rest, "metadata value"); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMetaKVMissing, err)
		}
	}
	if md == nil {
		md = make(map[string]string, count)
	} else {
		clear(md)
	}
	all := string(data)
	for off := 0; off < len(all); {
		var k, v string
		k, off = cutString(all, off)
		v, off = cutString(all, off)
		md[k] = v
	}
	return md, nil
}

// cutString returns the length-prefixed string at s[off:] and the offset
// after it; the entries were checked by decodeMetadata's first pass.
func cutString(s string, off int) (string, int) {
	n := int(uint32(s[off])<<24 | uint32(s[off+1])<<16 | uint32(s[off+2])<<8 | uint32(s[off+3]))
	off += 4
	return s[off : off+n], off + n
}

// FrameLength reports the total length of the frame whose first 16 bytes
// are hdr (header plus body), or false if hdr is shorter than HeaderSize.
func FrameLength(hdr []byte) (int, bool) {
	if len(hdr) < HeaderSize {
		return 0, false
	}
	return HeaderSize + int(binary.BigEndian.Uint32(hdr[12:])), true
}

// String describes the message for logs and debugging.
func (m Message) String() string {
	var b bytes.Buffer
	h := Header{}
	if m.Header != nil {
		h = *m.Header
	}
	fmt.Fprintf(&b, "seq=%d type=%d hb=%t oneway=%t status=%d ser=%s path=%s method=%s meta=%v",
		h.Seq(), h.MessageType(), h.IsHeartbeat(), h.IsOneway(), h.MessageStatusType(), h.SerializeType(),
		m.ServicePath, m.ServiceMethod, m.Metadata)
	if m.extraKey != "" {
		fmt.Fprintf(&b, "+%s:%s", m.extraKey, m.extraValue)
	}
	fmt.Fprintf(&b, " payload=%dB", len(m.Payload))
	return b.String()
}
