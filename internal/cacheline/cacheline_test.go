package cacheline

import (
	"slices"
	"testing"
	"unsafe"
)

type padded struct {
	read  int64
	near  int64
	_     Pad
	write int64
}

func TestPadSeparatesLines(t *testing.T) {
	var p padded
	field := func(off, size uintptr) Field { return Field{off, size} }
	read, near := field(unsafe.Offsetof(p.read), unsafe.Sizeof(p.read)), field(unsafe.Offsetof(p.near), unsafe.Sizeof(p.near))
	write := field(unsafe.Offsetof(p.write), unsafe.Sizeof(p.write))
	if got := gap(read, write); got < 128 {
		t.Fatalf("gap = %d, want at least 128", got)
	}
	if got := gap(write, read); got < 128 {
		t.Fatalf("gap (reversed) = %d, want at least 128", got)
	}
	if got := gap(Field{0, 16}, Field{8, 8}); got != 0 {
		t.Fatalf("gap of overlapping fields = %d, want 0", got)
	}
	if got := Near(write, map[string]Field{"read": read, "near": near}); len(got) != 0 {
		t.Fatalf("Near(write) = %v, want none", got)
	}
	if got := Near(Span(read, read), map[string]Field{"near": near, "write": write}); !slices.Equal(got, []string{"near"}) {
		t.Fatalf("Near(read) = %v, want [near]", got)
	}
}
