// Package protocol implements the rpcx wire format, protocol version 0, that
// courier speaks: a 16-byte header (magic, version, flags, serialize type,
// message ID, total length) followed by the service path, service method,
// metadata and payload, each prefixed by a big-endian uint32 length.
//
// SPEC.md in this directory describes the format byte by byte; the golden
// files in testdata pin it.
//
// Decoding never panics on hostile input: every length is checked against
// the bytes that remain, a frame longer than the configured maximum is
// refused before its body is allocated, gzip payloads are inflated through a
// limit, and metadata is capped in entry count. Failures are reported with
// the sentinel errors of this package (ErrMessageTooLong, ErrBadMagic, …),
// wrapped with %w so that callers can use errors.Is.
package protocol
