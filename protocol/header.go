package protocol

import (
	"encoding/binary"
	"strconv"
)

const (
	magicNumber byte = 0x08
	// Version is the only protocol version courier speaks (rpcx protocol 0).
	Version byte = 0
	// HeaderSize is the size of the fixed header plus the total-length field.
	HeaderSize = 16
)

// MagicNumber returns the byte every frame starts with (0x08).
func MagicNumber() byte { return magicNumber }

// SerializeType names the codec of a payload. It is carried in the high
// nibble of header byte 3.
type SerializeType byte

// Serialize types known to rpcx peers.
const (
	// SerializeNone means the payload is raw bytes.
	SerializeNone SerializeType = iota
	// JSON is encoding/json.
	JSON
	// ProtoBuffer is protocol buffers.
	ProtoBuffer
	// MsgPack is MessagePack, courier's default.
	MsgPack
	// Thrift is Apache Thrift binary protocol.
	Thrift
)

// String returns the name of the serialize type.
func (t SerializeType) String() string {
	switch t {
	case SerializeNone:
		return "raw"
	case JSON:
		return "json"
	case ProtoBuffer:
		return "protobuf"
	case MsgPack:
		return "msgpack"
	case Thrift:
		return "thrift"
	}
	return "serialize(" + strconv.Itoa(int(t)) + ")"
}

// CompressType names the compression applied to a payload.
type CompressType byte

// Compress types.
const (
	// None means no compression.
	None CompressType = iota
	// Gzip is RFC 1952 gzip.
	Gzip
)

// MessageType says whether a message is a request or a response.
type MessageType byte

// Message types.
const (
	// Request is a call, a heartbeat or a server notification.
	Request MessageType = iota
	// Response answers a request with the same message ID.
	Response
)

// MessageStatusType says whether a response carries a reply or an error.
type MessageStatusType byte

// Message status types.
const (
	// Normal is a successful reply.
	Normal MessageStatusType = iota
	// Error means the error text is in metadata key ServiceError.
	Error
)

// Header is the first 12 bytes of a frame: magic number, version, flags,
// serialize type and message ID. The total length that follows it on the
// wire is not part of Header.
type Header [12]byte

// CheckMagicNumber reports whether the header starts with the magic number.
func (h Header) CheckMagicNumber() bool { return h[0] == magicNumber }

// Version returns the protocol version.
func (h Header) Version() byte { return h[1] }

// SetVersion sets the protocol version.
func (h *Header) SetVersion(v byte) { h[1] = v }

// MessageType returns whether this is a request or a response.
func (h Header) MessageType() MessageType { return MessageType(h[2]&0x80) >> 7 }

// SetMessageType sets the message type.
func (h *Header) SetMessageType(mt MessageType) { h[2] = h[2]&^0x80 | byte(mt&1)<<7 }

// IsHeartbeat reports whether the heartbeat bit is set.
func (h Header) IsHeartbeat() bool { return h[2]&0x40 == 0x40 }

// SetHeartbeat sets or clears the heartbeat bit.
func (h *Header) SetHeartbeat(hb bool) { h.setBit(0x40, hb) }

// IsOneway reports whether the oneway bit is set: the sender expects no
// response.
func (h Header) IsOneway() bool { return h[2]&0x20 == 0x20 }

// SetOneway sets or clears the oneway bit.
func (h *Header) SetOneway(oneway bool) { h.setBit(0x20, oneway) }

// CompressType returns the payload compression.
func (h Header) CompressType() CompressType { return CompressType((h[2] & 0x1C) >> 2) }

// SetCompressType sets the payload compression (3 bits).
func (h *Header) SetCompressType(ct CompressType) { h[2] = h[2]&^0x1C | (byte(ct)<<2)&0x1C }

// MessageStatusType returns whether a response is normal or an error.
func (h Header) MessageStatusType() MessageStatusType { return MessageStatusType(h[2] & 0x03) }

// SetMessageStatusType sets the status (2 bits).
func (h *Header) SetMessageStatusType(mt MessageStatusType) { h[2] = h[2]&^0x03 | byte(mt)&0x03 }

// SerializeType returns the payload's serialize type.
func (h Header) SerializeType() SerializeType { return SerializeType((h[3] & 0xF0) >> 4) }

// SetSerializeType sets the serialize type (4 bits).
func (h *Header) SetSerializeType(st SerializeType) { h[3] = h[3]&0x0F | (byte(st)<<4)&0xF0 }

// Seq returns the message ID.
func (h Header) Seq() uint64 { return binary.BigEndian.Uint64(h[4:]) }

// SetSeq sets the message ID.
func (h *Header) SetSeq(seq uint64) { binary.BigEndian.PutUint64(h[4:], seq) }

func (h *Header) setBit(bit byte, on bool) {
	if on {
		h[2] |= bit
	} else {
		h[2] &^= bit
	}
}
