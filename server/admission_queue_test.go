package server

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// gateRig drives a server's admission without connections: refused and
// started record what the gate did with each request.
type gateRig struct {
	t       *testing.T
	s       *Server
	a       *admission
	mu      sync.Mutex // guards refused and started: the queue's timer writes them too
	refused map[string]error
	started map[string]waiting
}

// newGateRig builds the server outside any bubble (NewServer may start
// goroutines); the admission itself runs in the caller's bubble.
func newGateRig(t *testing.T, opts ...OptionFn) *gateRig {
	r := &gateRig{t: t, s: NewServer(opts...), refused: map[string]error{}, started: map[string]waiting{}}
	r.a = r.s.adm
	r.a.refuse = func(_ *conn, req *protocol.Message, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.refused[req.Metadata["id"]] = err
	}
	r.a.start = func(w waiting) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.started[w.req.Metadata["id"]] = w
	}
	return r
}

// admit offers request id of method P.method (with extra metadata) and
// returns its gate when it may run at once.
func (r *gateRig) admit(id, method string, meta ...string) (*methodGate, bool) {
	m := map[string]string{"id": id}
	for i := 0; i+1 < len(meta); i += 2 {
		m[meta[i]] = meta[i+1]
	}
	return r.a.admit(nil, newReq("P", method, protocol.JSON, nil, m))
}

// outcome names what happened to request id: "started", the refusal's
// code, or "" while it waits.
func (r *gateRig) outcome(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.started[id]; ok {
		return "started"
	}
	if err, ok := r.refused[id]; ok {
		var ce interface{ Code() share.Code }
		if errors.As(err, &ce) {
			return ce.Code().String()
		}
		return err.Error()
	}
	return ""
}

// counts returns the server's running and queued requests and g's
// running and waiting ones (g may be nil), read under the gate's lock.
func (r *gateRig) counts(g *methodGate) (running, queued, mrunning, mwaiting int) {
	r.a.mu.Lock()
	defer r.a.mu.Unlock()
	if g != nil {
		mrunning, mwaiting = g.running, g.waiting
	}
	return r.a.running, len(r.a.queue), mrunning, mwaiting
}

func (r *gateRig) startedReq(id string) waiting {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[id]
}

func (r *gateRig) want(id, outcome string) {
	r.t.Helper()
	if got := r.outcome(id); got != outcome {
		r.t.Fatalf("request %s: %q, want %q", id, got, outcome)
	}
}

func TestMethodLimitQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGateRig(t, WithQueueTimeout(time.Second), WithMethodConcurrencyLimiter("P", "Work", &fixedLimit{n: 1}))
		g1, ok := r.admit("w1", "Work")
		if !ok || g1 == nil {
			t.Fatalf("first Work: ok %v gate %v, want admitted with its gate", ok, g1)
		}
		if _, ok := r.admit("w2", "Work", share.DeadlineKey, "500"); ok {
			t.Fatal("second Work admitted over its method's limit of 1")
		}
		r.want("w2", "") // waits
		r.admit("w3", "Work")
		r.want("w3", share.CodeOverloaded.String()) // as many wait as the limit
		if g, ok := r.admit("e1", "Echo"); !ok || g != nil {
			t.Fatalf("Echo behind a waiting Work: ok %v gate %v, want admitted without a gate", ok, g)
		}
		time.Sleep(200 * time.Millisecond)
		r.a.release(time.Now().Add(-time.Millisecond), g1)
		r.want("w2", "started")
		if got := r.startedReq("w2").req.Metadata[share.DeadlineKey]; got != "300" {
			t.Fatalf("deadline after 200 ms in the queue: %s ms, want 300", got)
		}
		if _, _, mrunning, mwaiting := r.counts(g1); r.startedReq("w2").gate != g1 || mrunning != 1 || mwaiting != 0 {
			t.Fatalf("dequeued Work: gate %p (want %p) running %d waiting %d, want 1 and 0", r.startedReq("w2").gate, g1, mrunning, mwaiting)
		}
		if st := r.s.Stats(); st.Shed != 1 {
			t.Fatalf("Shed %d, want 1", st.Shed)
		}
	})
}

func TestMethodQueueTimesOutWithoutRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 10 * time.Millisecond
		r := newGateRig(t, WithQueueTimeout(timeout), WithMethodConcurrencyLimiter("P", "Work", &fixedLimit{n: 1}))
		g1, _ := r.admit("w1", "Work")
		start := time.Now()
		r.admit("w2", "Work")
		time.Sleep(timeout - time.Nanosecond)
		synctest.Wait()
		r.want("w2", "")
		time.Sleep(time.Nanosecond)
		synctest.Wait() // the queue's timer answers it: nothing else happens
		r.want("w2", share.CodeOverloaded.String())
		if waited := time.Since(start); waited != timeout {
			t.Fatalf("refused after %v, want %v", waited, timeout)
		}
		r.a.release(start, g1)
		if running, queued, mrunning, mwaiting := r.counts(g1); running+queued+mrunning+mwaiting != 0 {
			t.Fatalf("after release: server running %d queued %d, method running %d waiting %d; want all 0", running, queued, mrunning, mwaiting)
		}
		r.want("w1", "")
	})
}

func TestQueuedMethodDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fixedLimit{n: 1}
		r := newGateRig(t, WithMaxInFlight(2), WithQueueTimeout(time.Second), WithMethodConcurrencyLimiter("P", "Work", l))
		gw, _ := r.admit("w1", "Work")
		r.admit("w2", "Work") // waits for Work's slot
		if _, ok := r.admit("e1", "Echo"); !ok {
			t.Fatal("Echo refused with a server-wide slot free")
		}
		r.admit("e2", "Echo") // waits for a server-wide slot
		r.want("e2", "")
		r.a.release(time.Now(), nil) // e1 ends: e2 passes the waiting w2
		r.want("e2", "started")
		r.want("w2", "")
		r.a.release(time.Now(), r.startedReq("e2").gate)
		r.want("w2", "")            // Work still at its limit
		r.a.release(time.Now(), gw) // w1 ends
		r.want("w2", "started")
		if running, queued, _, _ := r.counts(nil); l.observed.Load() != 1 || running != 1 || queued != 0 {
			t.Fatalf("observed %d running %d queued %d, want 1, 1, 0", l.observed.Load(), running, queued)
		}
	})
}

func TestQueuedMethodPastDeadlineDoesNotRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGateRig(t, WithQueueTimeout(time.Second), WithMethodConcurrencyLimiter("P", "Work", &fixedLimit{n: 1}))
		g1, _ := r.admit("w1", "Work")
		r.admit("w2", "Work", share.DeadlineKey, strconv.Itoa(50))
		r.admit("e1", "Echo")
		time.Sleep(60 * time.Millisecond)
		r.a.release(time.Now(), g1)
		r.want("w2", share.CodeDeadlineExceeded.String())
		running, _, mrunning, _ := r.counts(g1)
		if st := r.s.Stats(); st.Expired != 1 || mrunning != 0 || running != 1 {
			t.Fatalf("Expired %d, method running %d, server running %d; want 1, 0, 1 (Echo)", st.Expired, mrunning, running)
		}
	})
}
