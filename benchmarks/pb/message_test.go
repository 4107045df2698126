package pb

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func TestNewArgsSize(t *testing.T) {
	tests := []struct {
		name    string
		payload int
		min     int
		max     int
	}{
		{"rpcx benchmark message", 0, 581, 581},
		{"1 MiB payload", 1 << 20, 1 << 20, 1<<20 + 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(NewArgs(tt.payload))
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if len(b) < tt.min || len(b) > tt.max {
				t.Fatalf("size %d, want [%d,%d]", len(b), tt.min, tt.max)
			}
		})
	}
}

func TestNewArgsSetsEverySingularField(t *testing.T) {
	r := NewArgs(0).ProtoReflect()
	fields := r.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Cardinality() == protoreflect.Repeated {
			continue
		}
		if !r.Has(fd) {
			t.Errorf("field %s not set", fd.Name())
		}
	}
}

func TestEchoCopiesEveryFieldButTwo(t *testing.T) {
	args := NewArgs(0)
	args.Field5 = []uint64{1, 2, 3}
	reply := new(BenchmarkMessage)
	Echo(args, reply)
	if reply.GetField1() != "OK" || reply.GetField2() != 100 {
		t.Fatalf("field1=%q field2=%d, want OK and 100", reply.GetField1(), reply.GetField2())
	}
	want := proto.Clone(args).(*BenchmarkMessage)
	want.Field1 = proto.String("OK")
	want.Field2 = proto.Int32(100)
	if !proto.Equal(reply, want) {
		t.Fatalf("echo lost a field:\n got %v\nwant %v", reply, want)
	}
	if args.GetField1() != Text {
		t.Fatalf("echo changed args.Field1 to %q", args.GetField1())
	}
}

// TestCodecAllocs records the protobuf cost every framework pays per call,
// so that framework allocations can be told apart from the codec's.
func TestCodecAllocs(t *testing.T) {
	args := NewArgs(0)
	b, err := proto.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	var m BenchmarkMessage
	marshal := testing.AllocsPerRun(100, func() { _, _ = proto.Marshal(args) })
	unmarshal := testing.AllocsPerRun(100, func() { _ = proto.Unmarshal(b, &m) })
	t.Logf("proto.Marshal %.0f allocs, proto.Unmarshal %.0f allocs", marshal, unmarshal)
	if marshal < 1 || unmarshal < 1 {
		t.Fatalf("implausible alloc counts %v %v", marshal, unmarshal)
	}
}
