// Package cacheline pads structs against false sharing: fields that every
// call writes, from every core, kept off the cache lines of fields that
// every call only reads. Otherwise each write evicts the read fields from
// the other cores' caches and the next read there misses.
package cacheline

// Pad is a blank field that separates two groups of fields by at least
// 128 bytes: a cache line on every common platform, and the pair of lines
// amd64's adjacent-line prefetcher moves together (sync.Pool pads its
// per-P data to 128 bytes for the same reason).
type Pad [128]byte

// Gap returns how many bytes lie between two fields of one struct, given
// their offsets and sizes (unsafe.Offsetof, unsafe.Sizeof), in either
// order; 0 when they overlap or touch. Layout tests use it to check that
// a field written by every call stays at least a line (64 bytes) away from
// the fields every call reads, whatever the object's alignment.
func Gap(offA, sizeA, offB, sizeB uintptr) uintptr {
	if offA > offB {
		offA, sizeA, offB, sizeB = offB, sizeB, offA, sizeA
	}
	if end := offA + sizeA; end < offB {
		return offB - end
	}
	return 0
}
