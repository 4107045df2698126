package protocol

import "errors"

// ServiceError is the metadata key that carries the error text of an error
// response (status Error).
const ServiceError = "__rpcx_error__"

// Sentinel errors returned (wrapped) by decoding and encoding.
var (
	// ErrMetaKVMissing means the metadata section ends inside a key or value.
	ErrMetaKVMissing = errors.New("wrong metadata lines. some keys or values are missing")
	// ErrMessageTooLong means a frame is longer than the configured maximum.
	ErrMessageTooLong = errors.New("message is too long")
	// ErrUnsupportedCompressor means the compress type has no compressor.
	ErrUnsupportedCompressor = errors.New("unsupported compressor")
	// ErrBadMagic means the first byte of a frame is not the magic number.
	ErrBadMagic = errors.New("protocol: wrong magic number")
	// ErrUnsupportedVersion means the frame has a protocol version other than 0.
	ErrUnsupportedVersion = errors.New("protocol: unsupported protocol version")
	// ErrTruncated means a frame ended before its lengths said it would, or
	// a length points past the end of the frame.
	ErrTruncated = errors.New("protocol: truncated frame")
	// ErrTooManyMetadata means the metadata has more entries than allowed.
	ErrTooManyMetadata = errors.New("protocol: too many metadata entries")
	// ErrDecompressedTooLarge means a compressed payload inflates past the
	// configured limit.
	ErrDecompressedTooLarge = errors.New("protocol: decompressed payload too large")
	// ErrFieldTooLong means a string or payload is too long to be encoded
	// (over 4 GiB).
	ErrFieldTooLong = errors.New("protocol: field too long to encode")
)
