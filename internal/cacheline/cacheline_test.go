package cacheline

import (
	"testing"
	"unsafe"
)

type padded struct {
	read  int64
	_     Pad
	write int64
}

func TestPadSeparatesLines(t *testing.T) {
	var p padded
	if got := Gap(unsafe.Offsetof(p.read), unsafe.Sizeof(p.read), unsafe.Offsetof(p.write), unsafe.Sizeof(p.write)); got < 128 {
		t.Fatalf("Gap = %d, want 128", got)
	}
	if got := Gap(unsafe.Offsetof(p.write), unsafe.Sizeof(p.write), unsafe.Offsetof(p.read), unsafe.Sizeof(p.read)); got < 128 {
		t.Fatalf("Gap (reversed) = %d, want 128", got)
	}
	if got := Gap(0, 16, 8, 8); got != 0 {
		t.Fatalf("Gap of overlapping fields = %d, want 0", got)
	}
}
