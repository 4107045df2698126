package client

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// share.Trace, copied by NewClient, logs the start and the result of each
// Call and the start of each Go. Not parallel: it sets the package globals
// share.Trace and the logger.
func TestShareTrace(t *testing.T) {
	s := startTestServer(t, "tcp", nil)
	for _, trace := range []bool{true, false} {
		var buf lockedBuffer
		log.SetLogger(log.NewDefaultLogger(&buf, "", 0, log.LvInfo))
		share.Trace = trace
		c := dialTest(t, s, DefaultOption)
		share.Trace = !trace // read at construction only
		var reply []byte
		if err := c.Call(t.Context(), "S", "Echo", []byte("x"), &reply); err != nil {
			t.Fatal(err)
		}
		call := <-c.Go(t.Context(), "S", "Echo", []byte("y"), &reply, nil).Done
		if call.Error != nil {
			t.Fatal(call.Error)
		}
		share.Trace = false
		log.SetDummyLogger()
		out := buf.String()
		for _, want := range []string{"client: call S.Echo to ", "returned: <nil>", "client: go S.Echo to "} {
			if strings.Contains(out, want) != trace {
				t.Errorf("trace=%v: log %q, contains %q: %v", trace, out, want, !trace)
			}
		}
	}
}
