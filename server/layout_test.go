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
	hotOff := unsafe.Offsetof(s.inflight)
	hotSize := unsafe.Offsetof(s.stats) + unsafe.Sizeof(s.stats) - hotOff
	read := map[string][2]uintptr{
		"Plugins":      {unsafe.Offsetof(s.Plugins), unsafe.Sizeof(s.Plugins)},
		"AuthFunc":     {unsafe.Offsetof(s.AuthFunc), unsafe.Sizeof(s.AuthFunc)},
		"frameTimeout": {unsafe.Offsetof(s.frameTimeout), unsafe.Sizeof(s.frameTimeout)},
		"inlineGrace":  {unsafe.Offsetof(s.inlineGrace), unsafe.Sizeof(s.inlineGrace)},
		"workers":      {unsafe.Offsetof(s.workers), unsafe.Sizeof(s.workers)},
		"reg":          {unsafe.Offsetof(s.reg), unsafe.Sizeof(s.reg)},
		"state":        {unsafe.Offsetof(s.state), unsafe.Sizeof(s.state)},
		"adm":          {unsafe.Offsetof(s.adm), unsafe.Sizeof(s.adm)},
		"codecs":       {unsafe.Offsetof(s.codecs), unsafe.Sizeof(s.codecs)},
	}
	for name, f := range read {
		if gap := cacheline.Gap(hotOff, hotSize, f[0], f[1]); gap < 64 {
			t.Errorf("%s is %d bytes from the per-request counters, want at least 64", name, gap)
		}
	}
}
