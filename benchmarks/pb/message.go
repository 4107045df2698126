package pb

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Text is the string that NewArgs puts in every string field, as in the
// rpcx benchmark.
const Text = "许多往事在眼前一幕一幕，变的那么模糊"

// NewArgs returns a BenchmarkMessage with every singular field set (ints to
// 100000, bools to true, strings to Text), which marshals to 581 bytes.
// When payload is positive, Field4 instead holds payload bytes of ASCII
// text, for the large-message scenario. The result is not shared: each
// caller may keep its own.
func NewArgs(payload int) *BenchmarkMessage {
	m := new(BenchmarkMessage)
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Cardinality() == protoreflect.Repeated {
			continue
		}
		switch fd.Kind() {
		case protoreflect.Int32Kind:
			r.Set(fd, protoreflect.ValueOfInt32(100000))
		case protoreflect.Int64Kind:
			r.Set(fd, protoreflect.ValueOfInt64(100000))
		case protoreflect.BoolKind:
			r.Set(fd, protoreflect.ValueOfBool(true))
		case protoreflect.StringKind:
			r.Set(fd, protoreflect.ValueOfString(Text))
		}
	}
	if payload > 0 {
		s := strings.Repeat("x", payload)
		m.Field4 = &s
	}
	return m
}

var (
	okText       = "OK"
	okCode int32 = 100
)

// Echo is the benchmark handler shared by every framework: it copies every
// field of args into reply (a shallow copy: reply shares args' strings and
// slices) and then sets Field1 to "OK" and Field2 to 100. It never fails.
func Echo(args, reply *BenchmarkMessage) {
	reply.Field1 = args.Field1
	reply.Field9 = args.Field9
	reply.Field18 = args.Field18
	reply.Field80 = args.Field80
	reply.Field81 = args.Field81
	reply.Field2 = args.Field2
	reply.Field3 = args.Field3
	reply.Field280 = args.Field280
	reply.Field6 = args.Field6
	reply.Field22 = args.Field22
	reply.Field4 = args.Field4
	reply.Field5 = args.Field5
	reply.Field59 = args.Field59
	reply.Field7 = args.Field7
	reply.Field16 = args.Field16
	reply.Field130 = args.Field130
	reply.Field12 = args.Field12
	reply.Field17 = args.Field17
	reply.Field13 = args.Field13
	reply.Field14 = args.Field14
	reply.Field104 = args.Field104
	reply.Field100 = args.Field100
	reply.Field101 = args.Field101
	reply.Field102 = args.Field102
	reply.Field103 = args.Field103
	reply.Field29 = args.Field29
	reply.Field30 = args.Field30
	reply.Field60 = args.Field60
	reply.Field271 = args.Field271
	reply.Field272 = args.Field272
	reply.Field150 = args.Field150
	reply.Field23 = args.Field23
	reply.Field24 = args.Field24
	reply.Field25 = args.Field25
	reply.Field78 = args.Field78
	reply.Field67 = args.Field67
	reply.Field68 = args.Field68
	reply.Field128 = args.Field128
	reply.Field129 = args.Field129
	reply.Field131 = args.Field131
	reply.Field1 = &okText
	reply.Field2 = &okCode
}
