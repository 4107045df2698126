package rpcobs

import (
	"testing"

	"github.com/courier-rpc/courier/share"
)

func TestStatusName(t *testing.T) {
	for c, want := range map[share.Code]string{
		share.CodeOK: "OK", share.CodeDeadlineExceeded: "DEADLINE_EXCEEDED",
		share.CodeOverloaded: "OVERLOADED", share.Code(99): "CODE_99",
	} {
		if got := StatusName(c); got != want {
			t.Errorf("StatusName(%d) = %q, want %q", c, got, want)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	for in, want := range map[string]struct {
		h string
		p int
	}{
		"127.0.0.1:8972": {"127.0.0.1", 8972}, "[::1]:80": {"::1", 80}, "/tmp/s.sock": {"/tmp/s.sock", 0},
		"h:notaport": {"h", 0}, "h:999999": {"h", 0},
	} {
		h, p := SplitHostPort(in)
		if h != want.h || p != want.p {
			t.Errorf("SplitHostPort(%q) = %q %d, want %q %d", in, h, p, want.h, want.p)
		}
	}
}
