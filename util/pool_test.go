package util

import (
	"sync"
	"testing"
)

func TestLimitedPool(t *testing.T) {
	p := NewLimitedPool(512, 4096)
	tests := []struct {
		size    int
		wantCap int // 0: not pooled, any capacity >= size
	}{
		{0, 512}, {1, 512}, {512, 512}, {513, 1024}, {1024, 1024}, {3000, 4096}, {4096, 4096}, {4097, 0}, {1 << 20, 0},
	}
	for _, tt := range tests {
		bp := p.Get(tt.size)
		if len(*bp) != tt.size {
			t.Fatalf("Get(%d): len %d", tt.size, len(*bp))
		}
		if tt.wantCap != 0 && cap(*bp) != tt.wantCap {
			t.Fatalf("Get(%d): cap %d, want %d", tt.size, cap(*bp), tt.wantCap)
		}
		p.Put(bp)
	}
	p.Put(nil)
	odd := make([]byte, 700)
	p.Put(&odd) // not a class size: dropped, no panic
	small := make([]byte, 8)
	p.Put(&small)
	if bp := p.Get(10); cap(*bp) != 512 {
		t.Fatalf("a too-small slice was pooled: cap %d", cap(*bp))
	}
}

func TestLimitedPoolRounding(t *testing.T) {
	// Bounds that are not powers of two round up to one.
	p := NewLimitedPool(100, 1000)
	if bp := p.Get(1); cap(*bp) != 128 {
		t.Fatalf("min class cap %d, want 128", cap(*bp))
	}
	if bp := p.Get(1000); cap(*bp) != 1024 {
		t.Fatalf("max class cap %d, want 1024", cap(*bp))
	}
	if bp := p.Get(1025); cap(*bp) < 1025 || len(*bp) != 1025 {
		t.Fatalf("oversize: len %d cap %d", len(*bp), cap(*bp))
	}
	// Degenerate bounds still work.
	for _, b := range [][2]int{{0, 0}, {-5, -1}, {64, 8}} {
		q := NewLimitedPool(b[0], b[1])
		bp := q.Get(10)
		if len(*bp) != 10 {
			t.Fatalf("NewLimitedPool(%d, %d).Get(10): len %d", b[0], b[1], len(*bp))
		}
		q.Put(bp)
	}
}

func TestLimitedPoolConcurrent(t *testing.T) {
	p := NewLimitedPool(64, 1<<16)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				size := (g*977 + i*131) % (1 << 17)
				bp := p.Get(size)
				if len(*bp) != size {
					t.Errorf("len %d, want %d", len(*bp), size)
					return
				}
				if size > 0 { // touch both ends: a shared slice would race
					(*bp)[0], (*bp)[size-1] = byte(g), byte(g)
				}
				p.Put(bp)
			}
		})
	}
	wg.Wait()
}
