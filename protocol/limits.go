package protocol

// Default limits applied when a Limits field is zero.
const (
	// DefaultMaxMessageLength is the largest frame accepted by default: 16 MiB.
	DefaultMaxMessageLength = 16 << 20
	// DefaultMaxMetadataEntries is the most metadata entries accepted by default.
	DefaultMaxMetadataEntries = 1024
	// NoLimit turns a limit off when it is set explicitly.
	NoLimit = -1
)

// MaxMessageLength is rpcx's package-level frame limit. courier keeps it for
// source compatibility: when it is positive it replaces the default maximum
// frame length of DefaultLimits. Set it once at start-up, before any server
// or client is created; it is read when a Limits value is resolved, not per
// frame.
var MaxMessageLength = 0

// Limits bounds what a decoder accepts. A zero field means the default
// (DefaultMaxMessageLength, DefaultMaxMetadataEntries, and for
// MaxDecompressedSize the resolved MaxMessageLength); NoLimit turns a check
// off. A Limits value is safe for concurrent use once resolved.
type Limits struct {
	// MaxMessageLength caps the total length of a frame after its 16-byte
	// header, checked before the body is allocated.
	MaxMessageLength int
	// MaxMetadataEntries caps the number of metadata key/value pairs.
	MaxMetadataEntries int
	// MaxDecompressedSize caps the size of an inflated gzip payload.
	MaxDecompressedSize int
}

// DefaultLimits returns the limits used when none are given.
func DefaultLimits() Limits { return Limits{}.resolve() }

// Resolve returns l with every zero field replaced by its default. It also
// takes the copy of Compressors that encoding and decoding use from then
// on; servers and clients call it when they are created.
func (l Limits) Resolve() Limits {
	snapshotCompressors()
	return l.resolve()
}

// resolve is Resolve without the copy of Compressors.
func (l Limits) resolve() Limits {
	if l.MaxMessageLength == 0 {
		l.MaxMessageLength = DefaultMaxMessageLength
		if MaxMessageLength > 0 {
			l.MaxMessageLength = MaxMessageLength
		}
	}
	if l.MaxMetadataEntries == 0 {
		l.MaxMetadataEntries = DefaultMaxMetadataEntries
	}
	if l.MaxDecompressedSize == 0 {
		l.MaxDecompressedSize = l.MaxMessageLength
	}
	return l
}

func exceeds(n, limit int) bool { return limit > 0 && n > limit }
