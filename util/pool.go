package util

import (
	"math/bits"
	"sync"
)

// LimitedPool is a pool of byte slices in power-of-two size classes between
// a minimum and a maximum size. Sizes outside the range are allocated and
// not pooled. It is safe for concurrent use.
type LimitedPool struct {
	minSize, maxSize int
	pools            []sync.Pool
	minShift         int
}

// NewLimitedPool returns a pool for sizes between minSize and maxSize.
func NewLimitedPool(minSize, maxSize int) *LimitedPool {
	minSize = max(minSize, 1)
	maxSize = max(maxSize, minSize)
	minShift := bits.Len(uint(minSize - 1))
	maxShift := bits.Len(uint(maxSize - 1))
	p := &LimitedPool{minSize: 1 << minShift, maxSize: 1 << maxShift, minShift: minShift}
	p.pools = make([]sync.Pool, maxShift-minShift+1)
	for i := range p.pools {
		size := 1 << (minShift + i)
		p.pools[i].New = func() any { b := make([]byte, 0, size); return &b }
	}
	return p
}

func (p *LimitedPool) class(size int) int {
	if size > p.maxSize {
		return -1
	}
	shift := bits.Len(uint(max(size, p.minSize) - 1))
	return shift - p.minShift
}

// Get returns a slice of length size.
func (p *LimitedPool) Get(size int) *[]byte {
	c := p.class(size)
	if c < 0 {
		b := make([]byte, size)
		return &b
	}
	bp := p.pools[c].Get().(*[]byte)
	*bp = (*bp)[:size]
	return bp
}

// Put returns a slice from Get to the pool.
func (p *LimitedPool) Put(b *[]byte) {
	if b == nil {
		return
	}
	c := cap(*b)
	if c < p.minSize || c > p.maxSize || c&(c-1) != 0 {
		return
	}
	*b = (*b)[:0]
	p.pools[bits.Len(uint(c-1))-p.minShift].Put(b)
}
