package server

import (
	"testing"
	"unsafe"

	"github.com/courier-rpc/courier/internal/cacheline"
)

// The counters every request writes stay a cache line away from the
// fields every request reads (false sharing between the readers' cores).
func TestServerHotCountersOnOwnLines(t *testing.T) {
	var s Server
	hot := cacheline.Span(cacheline.Field{Off: unsafe.Offsetof(s.inflight), Size: unsafe.Sizeof(s.inflight)},
		cacheline.Field{Off: unsafe.Offsetof(s.stats), Size: unsafe.Sizeof(s.stats)})
	read := map[string]cacheline.Field{
		"Plugins":      {Off: unsafe.Offsetof(s.Plugins), Size: unsafe.Sizeof(s.Plugins)},
		"AuthFunc":     {Off: unsafe.Offsetof(s.AuthFunc), Size: unsafe.Sizeof(s.AuthFunc)},
		"frameTimeout": {Off: unsafe.Offsetof(s.frameTimeout), Size: unsafe.Sizeof(s.frameTimeout)},
		"inlineGrace":  {Off: unsafe.Offsetof(s.inlineGrace), Size: unsafe.Sizeof(s.inlineGrace)},
		"workers":      {Off: unsafe.Offsetof(s.workers), Size: unsafe.Sizeof(s.workers)},
		"reg":          {Off: unsafe.Offsetof(s.reg), Size: unsafe.Sizeof(s.reg)},
		"state":        {Off: unsafe.Offsetof(s.state), Size: unsafe.Sizeof(s.state)},
		"adm":          {Off: unsafe.Offsetof(s.adm), Size: unsafe.Sizeof(s.adm)},
		"codecs":       {Off: unsafe.Offsetof(s.codecs), Size: unsafe.Sizeof(s.codecs)},
	}
	if near := cacheline.Near(hot, read); len(near) > 0 {
		t.Errorf("%v within 64 bytes of the per-request counters", near)
	}
}

// reqCtx is allocated for every request; its size class sets how many of
// the server's bytes per call are its own (see reqCtx).
func TestReqCtxSize(t *testing.T) {
	if n := unsafe.Sizeof(reqCtx{}); n > 48 {
		t.Errorf("reqCtx is %d bytes, want at most 48", n)
	}
}
