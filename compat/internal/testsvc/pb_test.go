package testsvc

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// argsDescriptor builds `message Args { int64 a = 1; int64 b = 2; }` and
// `message Reply { int64 c = 1; }` (proto3) with the protobuf runtime.
func argsDescriptor(t *testing.T) (args, reply protoreflect.MessageDescriptor) {
	t.Helper()
	field := func(name string, num int32) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name:     proto.String(name),
			Number:   proto.Int32(num),
			Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:     descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(),
			JsonName: proto.String(name),
		}
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("compat/arith.proto"),
		Package: proto.String("compat"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Args"), Field: []*descriptorpb.FieldDescriptorProto{field("a", 1), field("b", 2)}},
			{Name: proto.String("Reply"), Field: []*descriptorpb.FieldDescriptorProto{field("c", 1)}},
		},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatalf("descriptor: %v", err)
	}
	return f.Messages().ByName("Args"), f.Messages().ByName("Reply")
}

// TestPBTypesMatchProtobufRuntime checks that the hand-coded PBArgs and
// PBReply produce and accept the same bytes as the protobuf runtime.
func TestPBTypesMatchProtobufRuntime(t *testing.T) {
	argsMD, replyMD := argsDescriptor(t)
	tests := []struct {
		name string
		a, b int64
	}{
		{"zeros", 0, 0},
		{"small", 7, 8},
		{"negative", -1, -300},
		{"large", 1 << 62, -(1 << 62)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dyn := dynamicpb.NewMessage(argsMD)
			dyn.Set(argsMD.Fields().ByName("a"), protoreflect.ValueOfInt64(tc.a))
			dyn.Set(argsMD.Fields().ByName("b"), protoreflect.ValueOfInt64(tc.b))
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(dyn)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := (&PBArgs{A: tc.a, B: tc.b}).Marshal()
			if !bytes.Equal(got, want) {
				t.Fatalf("PBArgs bytes %x, runtime %x", got, want)
			}
			var back PBArgs
			if err := back.Unmarshal(want); err != nil || back.A != tc.a || back.B != tc.b {
				t.Fatalf("PBArgs.Unmarshal = %+v, %v", back, err)
			}

			rep := dynamicpb.NewMessage(replyMD)
			if err := proto.Unmarshal(mustMarshal(t, &PBReply{C: tc.a}), rep); err != nil {
				t.Fatalf("runtime cannot parse PBReply: %v", err)
			}
			if c := rep.Get(replyMD.Fields().ByName("c")).Int(); c != tc.a {
				t.Fatalf("runtime read c=%d, want %d", c, tc.a)
			}
		})
	}
}

// TestPBUnmarshalRejectsGarbage: truncated input is an error, not a panic.
func TestPBUnmarshalRejectsGarbage(t *testing.T) {
	for _, in := range [][]byte{{0x08}, {0x08, 0x80}, {0x0a, 0x05, 1}, {0xff}} {
		var a PBArgs
		if err := a.Unmarshal(in); err == nil {
			t.Errorf("Unmarshal(%x) = nil error", in)
		}
	}
}

func mustMarshal(t *testing.T, m interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
