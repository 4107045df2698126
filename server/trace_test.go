package server

import (
	"strings"
	"testing"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// share.Trace, copied by NewServer, logs each request and its reply; a
// server made while it was false logs nothing. Not parallel: it sets the
// package globals share.Trace and the logger.
func TestShareTrace(t *testing.T) {
	for _, trace := range []bool{true, false} {
		capture := newCaptureLogger()
		log.SetLogger(capture)
		share.Trace = trace
		_, addr := newArithServer(t)
		share.Trace = !trace // read at construction only
		c := dialRaw(t, addr)
		res := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":3}`), nil))
		if got := string(res.Payload); got != `{"C":6}` {
			t.Fatalf("reply %q", got)
		}
		log.SetDummyLogger()
		share.Trace = false
		var lines []string
	drain:
		for {
			select {
			case l := <-capture.lines:
				if strings.HasPrefix(l, "INFO server: request") || strings.HasPrefix(l, "INFO server: reply") {
					lines = append(lines, l)
				}
			default:
				break drain
			}
		}
		if want := map[bool]int{true: 2, false: 0}[trace]; len(lines) != want {
			t.Fatalf("trace=%v: trace lines %q, want %d", trace, lines, want)
		}
	}
}
