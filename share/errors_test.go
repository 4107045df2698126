package share

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// codedErr is a foreign error type with a Code method.
type codedErr struct{ c Code }

func (e codedErr) Error() string { return "coded" }
func (e codedErr) Code() Code    { return e.c }

func TestCodeOf(t *testing.T) {
	deadlineCtx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-deadlineCtx.Done()
	canceledCtx, cancel2 := context.WithCancel(context.Background())
	cancel2()

	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, CodeOK},
		{"plain", io.EOF, CodeUnknown},
		{"canceled", context.Canceled, CodeCanceled},
		{"ctx canceled", canceledCtx.Err(), CodeCanceled},
		{"deadline", context.DeadlineExceeded, CodeDeadlineExceeded},
		{"ctx deadline", deadlineCtx.Err(), CodeDeadlineExceeded},
		{"wrapped deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), CodeDeadlineExceeded},
		{"NewError", NewError(CodeNotFound, "no such"), CodeNotFound},
		{"wrapped NewError", fmt.Errorf("a: %w", fmt.Errorf("b: %w", NewError(CodeInternal, "x"))), CodeInternal},
		{"joined", errors.Join(io.EOF, NewError(CodeUnavailable, "down")), CodeUnavailable},
		{"foreign coder", fmt.Errorf("x: %w", codedErr{CodePermissionDenied}), CodePermissionDenied},
		{"code beats ctx error", fmt.Errorf("%w: %w", NewError(CodeAborted, "a"), context.Canceled), CodeAborted},
		{"explicit unknown", NewError(CodeUnknown, "?"), CodeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CodeOf(tt.err); got != tt.want {
				t.Fatalf("CodeOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestNewError(t *testing.T) {
	e := NewError(CodeInvalidArgument, "bad arg")
	if e.Error() != "bad arg" || e.Code() != CodeInvalidArgument || !e.IsServiceError() {
		t.Fatalf("NewError = %q %v %t", e.Error(), e.Code(), e.IsServiceError())
	}
	var _ Coder = e
	var target *Error
	if !errors.As(fmt.Errorf("w: %w", e), &target) || target != e {
		t.Fatal("errors.As does not find *Error")
	}
}

func TestParseCode(t *testing.T) {
	tests := []struct {
		in   string
		want Code
		ok   bool
	}{
		{"0", CodeOK, true},
		{"14", CodeUnavailable, true},
		{"16", CodeUnauthenticated, true},
		{"4294967295", Code(4294967295), true},
		{"4294967296", CodeUnknown, false},
		{"-1", CodeUnknown, false},
		{"", CodeUnknown, false},
		{"abc", CodeUnknown, false},
		{" 1", CodeUnknown, false},
		{"0x10", CodeUnknown, false},
	}
	for _, tt := range tests {
		got, ok := ParseCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseCode(%q) = %v, %t; want %v, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	// Every code survives the wire form (decimal) unchanged.
	for c := CodeOK; c <= CodeUnauthenticated+1; c++ {
		if got, ok := ParseCode(fmt.Sprint(uint32(c))); !ok || got != c {
			t.Errorf("round trip of %d: %v %t", c, got, ok)
		}
	}
}

func TestCodeString(t *testing.T) {
	tests := map[Code]string{
		CodeOK: "ok", CodeCanceled: "canceled", CodeUnknown: "unknown", CodeDeadlineExceeded: "deadline_exceeded",
		CodeUnavailable: "unavailable", CodeUnauthenticated: "unauthenticated", CodeOverloaded: "overloaded", 18: "code_18", 1000: "code_1000",
	}
	for c, want := range tests {
		if c.String() != want {
			t.Errorf("%d.String() = %q, want %q", uint32(c), c.String(), want)
		}
	}
	// Values are gRPC's and travel on the wire: they must not move.
	if CodeInvalidArgument != 3 || CodeNotFound != 5 || CodeInternal != 13 || CodeUnavailable != 14 || CodeUnauthenticated != 16 {
		t.Fatal("code values changed")
	}
}

func TestRetryable(t *testing.T) {
	for c := CodeOK; c <= CodeOverloaded+1; c++ {
		if got, want := Retryable(c), c == CodeOverloaded; got != want {
			t.Errorf("Retryable(%v) = %v, want %v", c, got, want)
		}
	}
}
