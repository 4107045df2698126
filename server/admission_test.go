package server

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// blockingServer serves P.Work (raw bytes), whose calls wait for release,
// and P.Echo (JSON *Args), which answers at once. It counts runs.
func blockingServer(t *testing.T, opts ...OptionFn) (s *Server, addr string, entered chan struct{}, release chan struct{}, runs *atomic.Int32) {
	t.Helper()
	s = NewServer(opts...)
	entered, release = make(chan struct{}, 64), make(chan struct{})
	runs = new(atomic.Int32)
	if err := Handle(s, "P", "Work", func(ctx context.Context, req *[]byte, res *[]byte) error {
		runs.Add(1)
		entered <- struct{}{}
		<-release
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := Handle(s, "P", "Echo", func(ctx context.Context, req *Args, res *Reply) error {
		runs.Add(1)
		res.C = req.A
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s, testServer(t, s), entered, release, runs
}

func codeOf(m *protocol.Message) share.Code {
	c, _ := share.ParseCode(m.Metadata[share.ErrorCodeKey])
	return c
}

func TestMaxInFlightRefusesBeforeDecode(t *testing.T) {
	s, addr, entered, release, runs := blockingServer(t, WithMaxInFlight(2))
	c := dialRaw(t, addr)
	c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	<-entered
	<-entered
	// Over the limit: refused at once, and its payload (not valid JSON)
	// is never decoded, so the answer is "overloaded", not a decode error.
	seq := c.send(newReq("P", "Echo", protocol.JSON, []byte("{not json"), nil))
	res := c.read()
	if res.Seq() != seq || res.MessageStatusType() != protocol.Error || codeOf(res) != share.CodeOverloaded {
		t.Fatalf("got seq %d status %v code %v (%q), want seq %d overloaded", res.Seq(), res.MessageStatusType(), codeOf(res), errText(res), seq)
	}
	close(release)
	c.read()
	c.read()
	// Below the limit again: served.
	if res := c.call(newReq("P", "Echo", protocol.JSON, []byte(`{"A":7}`), nil)); res.MessageStatusType() != protocol.Normal {
		t.Fatalf("after the burst: %q", errText(res))
	}
	if st := s.Stats(); st.Shed != 1 || st.InFlightLimit != 2 {
		t.Fatalf("Shed %d InFlightLimit %d, want 1 and 2", st.Shed, st.InFlightLimit)
	}
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d handler runs, want 3", n)
	}
}

func TestQueueTimeoutQueuesThenRuns(t *testing.T) {
	s, addr, entered, release, runs := blockingServer(t, WithMaxInFlight(1), WithQueueTimeout(time.Minute))
	c := dialRaw(t, addr)
	c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	<-entered
	queued := c.send(newReq("P", "Echo", protocol.JSON, []byte(`{"A":1}`), nil))
	refused := c.send(newReq("P", "Echo", protocol.JSON, []byte(`{"A":2}`), nil)) // the queue holds as many as the limit
	if res := c.read(); res.Seq() != refused || codeOf(res) != share.CodeOverloaded {
		t.Fatalf("got seq %d code %v, want seq %d overloaded", res.Seq(), codeOf(res), refused)
	}
	close(release)
	got := map[uint64]bool{}
	for range 2 {
		res := c.read()
		if res.MessageStatusType() != protocol.Normal {
			t.Fatalf("seq %d: %q", res.Seq(), errText(res))
		}
		got[res.Seq()] = true
	}
	if !got[queued] || runs.Load() != 2 || s.Stats().Shed != 1 {
		t.Fatalf("replies %v runs %d shed %d, want the queued call run", got, runs.Load(), s.Stats().Shed)
	}
}

func TestQueuedRequestPastDeadlineDoesNotRun(t *testing.T) {
	const budget = 20 * time.Millisecond
	s, addr, entered, release, runs := blockingServer(t, WithMaxInFlight(1), WithQueueTimeout(time.Minute))
	c := dialRaw(t, addr)
	c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	<-entered
	meta := map[string]string{share.DeadlineKey: strconv.FormatInt(budget.Milliseconds(), 10)}
	seq := c.send(newReq("P", "Echo", protocol.JSON, []byte(`{"A":1}`), meta))
	<-time.After(2 * budget) // let the queued request's own deadline pass
	close(release)
	for range 2 {
		res := c.read()
		if res.Seq() == seq && codeOf(res) != share.CodeDeadlineExceeded {
			t.Fatalf("queued past its deadline: code %v (%q), want deadline_exceeded", codeOf(res), errText(res))
		}
	}
	if n, st := runs.Load(), s.Stats(); n != 1 || st.Expired != 1 {
		t.Fatalf("runs %d expired %d, want 1 and 1", n, st.Expired)
	}
}

func TestAdaptiveLimiterServes(t *testing.T) {
	l := NewGradientLimiter(GradientConfig{Initial: 4, Min: 2, Max: 8})
	s, addr, _, _, runs := blockingServer(t, WithConcurrencyLimiter(l))
	c := dialRaw(t, addr)
	for i := range 50 {
		res := c.call(newReq("P", "Echo", protocol.JSON, []byte(`{"A":`+strconv.Itoa(i)+`}`), nil))
		if res.MessageStatusType() != protocol.Normal {
			t.Fatalf("call %d: %q", i, errText(res))
		}
	}
	if runs.Load() != 50 || s.Stats().Shed != 0 {
		t.Fatalf("runs %d shed %d", runs.Load(), s.Stats().Shed)
	}
	if lim := s.Stats().InFlightLimit; lim < 2 || lim > 8 {
		t.Fatalf("InFlightLimit %d outside [2, 8]", lim)
	}
}

func TestNonIdempotentMetadata(t *testing.T) {
	if got := NonIdempotent("Pay", "Ship"); got != "nonidempotent=Pay,Ship" {
		t.Fatalf("NonIdempotent = %q", got)
	}
}

// fixedLimit is a Limiter with a constant limit that counts observations.
type fixedLimit struct {
	n        int
	observed atomic.Int32
}

func (f *fixedLimit) Limit() int                 { return f.n }
func (f *fixedLimit) Observe(time.Duration, int) { f.observed.Add(1) }

func TestMethodLimiterOnlyThatMethod(t *testing.T) {
	l := &fixedLimit{n: 1}
	s, addr, entered, release, _ := blockingServer(t, WithMethodConcurrencyLimiter("P", "Work", l))
	c := dialRaw(t, addr)
	c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	<-entered
	seq := c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	if res := c.read(); res.Seq() != seq || codeOf(res) != share.CodeOverloaded {
		t.Fatalf("second Work: seq %d code %v, want seq %d overloaded", res.Seq(), codeOf(res), seq)
	}
	// Another method is not limited.
	if res := c.call(newReq("P", "Echo", protocol.JSON, []byte(`{"A":3}`), nil)); res.MessageStatusType() != protocol.Normal {
		t.Fatalf("Echo while Work is at its limit: %q", errText(res))
	}
	close(release)
	c.read()
	if res := c.call(newReq("P", "Work", protocol.SerializeNone, nil, nil)); res.MessageStatusType() != protocol.Normal {
		t.Fatalf("Work after its slot was freed: %q", errText(res))
	}
	if st := s.Stats(); st.Shed != 1 || l.observed.Load() != 2 {
		t.Fatalf("shed %d, method limiter observed %d; want 1 and 2", st.Shed, l.observed.Load())
	}
}

func TestMethodLimiterQueuesOverLoopback(t *testing.T) {
	s, addr, entered, release, runs := blockingServer(t, WithQueueTimeout(time.Minute), WithMethodConcurrencyLimiter("P", "Work", &fixedLimit{n: 1}))
	c := dialRaw(t, addr)
	c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	<-entered
	c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil)) // waits for Work's slot
	// Echo passes the waiting Work; its reply is the first one.
	echo := c.send(newReq("P", "Echo", protocol.JSON, []byte(`{"A":3}`), nil))
	if res := c.read(); res.Seq() != echo || res.MessageStatusType() != protocol.Normal {
		t.Fatalf("first reply seq %d (%q), want Echo's %d", res.Seq(), errText(res), echo)
	}
	close(release)
	for range 2 {
		if res := c.read(); res.MessageStatusType() != protocol.Normal {
			t.Fatalf("Work seq %d: %q", res.Seq(), errText(res))
		}
	}
	if st := s.Stats(); st.Shed != 0 || runs.Load() != 3 {
		t.Fatalf("shed %d runs %d, want 0 and 3", st.Shed, runs.Load())
	}
}
