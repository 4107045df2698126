package client

import (
	"testing"
	"unsafe"

	"github.com/courier-rpc/courier/internal/cacheline"
)

// field is a field's byte range in its struct.
func field(off, size uintptr) cacheline.Field { return cacheline.Field{Off: off, Size: size} }

// checkApart fails unless every field of read is at least a cache line
// (64 bytes) from the byte range hot.
func checkApart(t *testing.T, what string, hot cacheline.Field, read map[string]cacheline.Field) {
	t.Helper()
	if near := cacheline.Near(hot, read); len(near) > 0 {
		t.Errorf("%s: %v within 64 bytes of fields every call writes", what, near)
	}
}

// The fields every call writes (registration, the write queue, the
// XClient's counters, the retry budget's slots) stay a cache line away
// from the fields every call reads, and the two written groups of a
// Client from each other.
func TestHotFieldsOnOwnLines(t *testing.T) {
	var c Client
	read := map[string]cacheline.Field{
		"Plugins":  field(unsafe.Offsetof(c.Plugins), unsafe.Sizeof(c.Plugins)),
		"option":   field(unsafe.Offsetof(c.option), unsafe.Sizeof(c.option)),
		"codecs":   field(unsafe.Offsetof(c.codecs), unsafe.Sizeof(c.codecs)),
		"remote":   field(unsafe.Offsetof(c.remote), unsafe.Sizeof(c.remote)),
		"closing":  field(unsafe.Offsetof(c.closing), unsafe.Sizeof(c.closing)),
		"shutdown": field(unsafe.Offsetof(c.shutdown), unsafe.Sizeof(c.shutdown)),
		"draining": field(unsafe.Offsetof(c.draining), unsafe.Sizeof(c.draining)),
		"done":     field(unsafe.Offsetof(c.done), unsafe.Sizeof(c.done)),
	}
	calls := cacheline.Span(field(unsafe.Offsetof(c.seq), unsafe.Sizeof(c.seq)), field(unsafe.Offsetof(c.inReader), unsafe.Sizeof(c.inReader)))
	queue := cacheline.Span(field(unsafe.Offsetof(c.wmu), unsafe.Sizeof(c.wmu)), field(unsafe.Offsetof(c.wconn), unsafe.Sizeof(c.wconn)))
	checkApart(t, "Client registration", calls, read)
	checkApart(t, "Client write queue", queue, read)
	checkApart(t, "Client write queue", queue, map[string]cacheline.Field{"registration": calls})

	var x xClient
	checkApart(t, "XClient counters", field(unsafe.Offsetof(x.stats), unsafe.Sizeof(x.stats)), map[string]cacheline.Field{
		"plugins":  field(unsafe.Offsetof(x.plugins), unsafe.Sizeof(x.plugins)),
		"snap":     field(unsafe.Offsetof(x.snap), unsafe.Sizeof(x.snap)),
		"budget":   field(unsafe.Offsetof(x.budget), unsafe.Sizeof(x.budget)),
		"nonIdem":  field(unsafe.Offsetof(x.nonIdem), unsafe.Sizeof(x.nonIdem)),
		"codecs":   field(unsafe.Offsetof(x.codecs), unsafe.Sizeof(x.codecs)),
		"cache":    field(unsafe.Offsetof(x.cache), unsafe.Sizeof(x.cache)),
		"failMode": field(unsafe.Offsetof(x.failMode), unsafe.Sizeof(x.failMode)),
	})

	var b RetryBudget
	checkApart(t, "RetryBudget slots", field(unsafe.Offsetof(b.slots), unsafe.Sizeof(b.slots)), map[string]cacheline.Field{
		"ratio": field(unsafe.Offsetof(b.ratio), unsafe.Sizeof(b.ratio)),
		"start": field(unsafe.Offsetof(b.start), unsafe.Sizeof(b.start)),
	})
}

// A call fills whole cache lines (see rpcCall).
func TestRPCCallIsLineMultiple(t *testing.T) {
	if n := unsafe.Sizeof(rpcCall{}); n%64 != 0 {
		t.Errorf("rpcCall is %d bytes, not a multiple of 64", n)
	}
}
