package client

import (
	"testing"
	"unsafe"

	"github.com/courier-rpc/courier/internal/cacheline"
)

// field is a field's offset and size in its struct.
type field struct{ off, size uintptr }

// checkApart fails unless every field of read is at least a cache line
// (64 bytes) from the byte range hot.
func checkApart(t *testing.T, what string, hot field, read map[string]field) {
	t.Helper()
	for name, f := range read {
		if gap := cacheline.Gap(hot.off, hot.size, f.off, f.size); gap < 64 {
			t.Errorf("%s: %s is %d bytes from fields every call writes, want at least 64", what, name, gap)
		}
	}
}

// span is the byte range from field first to the end of field last.
func span(first, last field) field { return field{first.off, last.off + last.size - first.off} }

// The fields every call writes (registration, the write queue, the
// XClient's counters, the retry budget's slots) stay a cache line away
// from the fields every call reads, and the two written groups of a
// Client from each other.
func TestHotFieldsOnOwnLines(t *testing.T) {
	var c Client
	read := map[string]field{
		"Plugins":  {unsafe.Offsetof(c.Plugins), unsafe.Sizeof(c.Plugins)},
		"option":   {unsafe.Offsetof(c.option), unsafe.Sizeof(c.option)},
		"codecs":   {unsafe.Offsetof(c.codecs), unsafe.Sizeof(c.codecs)},
		"remote":   {unsafe.Offsetof(c.remote), unsafe.Sizeof(c.remote)},
		"closing":  {unsafe.Offsetof(c.closing), unsafe.Sizeof(c.closing)},
		"shutdown": {unsafe.Offsetof(c.shutdown), unsafe.Sizeof(c.shutdown)},
		"draining": {unsafe.Offsetof(c.draining), unsafe.Sizeof(c.draining)},
		"done":     {unsafe.Offsetof(c.done), unsafe.Sizeof(c.done)},
	}
	calls := span(field{unsafe.Offsetof(c.seq), unsafe.Sizeof(c.seq)}, field{unsafe.Offsetof(c.inReader), unsafe.Sizeof(c.inReader)})
	queue := span(field{unsafe.Offsetof(c.wmu), unsafe.Sizeof(c.wmu)}, field{unsafe.Offsetof(c.wconn), unsafe.Sizeof(c.wconn)})
	checkApart(t, "Client registration", calls, read)
	checkApart(t, "Client write queue", queue, read)
	checkApart(t, "Client write queue", queue, map[string]field{"registration": calls})

	var x xClient
	checkApart(t, "XClient counters", field{unsafe.Offsetof(x.stats), unsafe.Sizeof(x.stats)}, map[string]field{
		"plugins":  {unsafe.Offsetof(x.plugins), unsafe.Sizeof(x.plugins)},
		"snap":     {unsafe.Offsetof(x.snap), unsafe.Sizeof(x.snap)},
		"budget":   {unsafe.Offsetof(x.budget), unsafe.Sizeof(x.budget)},
		"nonIdem":  {unsafe.Offsetof(x.nonIdem), unsafe.Sizeof(x.nonIdem)},
		"codecs":   {unsafe.Offsetof(x.codecs), unsafe.Sizeof(x.codecs)},
		"cache":    {unsafe.Offsetof(x.cache), unsafe.Sizeof(x.cache)},
		"failMode": {unsafe.Offsetof(x.failMode), unsafe.Sizeof(x.failMode)},
	})

	var b RetryBudget
	checkApart(t, "RetryBudget slots", field{unsafe.Offsetof(b.slots), unsafe.Sizeof(b.slots)}, map[string]field{
		"ratio": {unsafe.Offsetof(b.ratio), unsafe.Sizeof(b.ratio)},
		"start": {unsafe.Offsetof(b.start), unsafe.Sizeof(b.start)},
	})
}

// A call fills whole cache lines (see rpcCall).
func TestRPCCallIsLineMultiple(t *testing.T) {
	if n := unsafe.Sizeof(rpcCall{}); n%64 != 0 {
		t.Errorf("rpcCall is %d bytes, not a multiple of 64", n)
	}
}
