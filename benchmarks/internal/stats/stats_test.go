package stats

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTakeReadsCounters(t *testing.T) {
	a := Take()
	x := 0
	for i := 0; i < 3e7; i++ { // burn a little CPU
		x += i ^ (x >> 3)
	}
	_ = strings.Repeat("y", x&1+1000)
	b := Take()
	if a.RSSKB <= 0 || a.Goroutines < 1 || a.ReadCalls < 0 || a.WriteCalls < 0 {
		t.Fatalf("implausible snapshot %+v", a)
	}
	if b.CPUMicros < a.CPUMicros || b.Mallocs <= a.Mallocs {
		t.Fatalf("counters went backwards or did not move: %+v then %+v", a, b)
	}
}

func TestHandlerAndFetch(t *testing.T) {
	var began, ended int
	srv := httptest.NewServer(Handler(Hooks{
		Begin: func() error { began++; return nil },
		End:   func() error { ended++; return nil },
	}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, path := range []string{"stats", "begin", "end"} {
		t.Run(path, func(t *testing.T) {
			s, err := Fetch(addr, path)
			if err != nil {
				t.Fatal(err)
			}
			if s.RSSKB <= 0 {
				t.Fatalf("rss %d", s.RSSKB)
			}
		})
	}
	if began != 1 || ended != 1 {
		t.Fatalf("hooks ran %d/%d times, want 1/1", began, ended)
	}
	if _, err := Fetch(addr, "nope"); err == nil {
		t.Fatal("fetching an unknown path must fail")
	}
}
