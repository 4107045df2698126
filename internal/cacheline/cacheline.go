// Package cacheline pads structs against false sharing: fields that every
// call writes, from every core, kept off the cache lines of fields that
// every call only reads. Otherwise each write evicts the read fields from
// the other cores' caches and the next read there misses.
package cacheline

import "slices"

// Pad is a blank field that separates two groups of fields by at least
// 128 bytes: a cache line on every common platform, and the pair of lines
// amd64's adjacent-line prefetcher moves together (sync.Pool pads its
// per-P data to 128 bytes for the same reason).
type Pad [128]byte

// Field is a byte range of a struct: a field's offset and size
// (unsafe.Offsetof, unsafe.Sizeof), or a run of fields (Span).
type Field struct{ Off, Size uintptr }

// Span is the range from the start of first to the end of last.
func Span(first, last Field) Field { return Field{first.Off, last.Off + last.Size - first.Off} }

// Near returns, sorted, the names of the fields of read that lie less than
// a cache line (64 bytes) from hot, whatever the object's alignment.
// Layout tests use it to keep the fields every call writes away from the
// fields every call reads.
func Near(hot Field, read map[string]Field) []string {
	var near []string
	for name, f := range read {
		if gap(hot, f) < 64 {
			near = append(near, name)
		}
	}
	slices.Sort(near)
	return near
}

// gap returns how many bytes lie between a and b, in either order; 0 when
// they overlap or touch.
func gap(a, b Field) uintptr {
	if a.Off > b.Off {
		a, b = b, a
	}
	if end := a.Off + a.Size; end < b.Off {
		return b.Off - end
	}
	return 0
}
