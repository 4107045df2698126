package share

import (
	"context"
	"errors"
	"strconv"
)

// Code classifies an error so that callers can react to it without comparing
// strings. The values follow gRPC's status codes. Between courier peers an
// error response carries its code in metadata key ErrorCodeKey; from an rpcx
// peer every remote error has CodeUnknown.
type Code uint32

// Error codes.
const (
	CodeOK                 Code = 0
	CodeCanceled           Code = 1
	CodeUnknown            Code = 2
	CodeInvalidArgument    Code = 3
	CodeDeadlineExceeded   Code = 4
	CodeNotFound           Code = 5
	CodeAlreadyExists      Code = 6
	CodePermissionDenied   Code = 7
	CodeResourceExhausted  Code = 8
	CodeFailedPrecondition Code = 9
	CodeAborted            Code = 10
	CodeOutOfRange         Code = 11
	CodeUnimplemented      Code = 12
	CodeInternal           Code = 13
	CodeUnavailable        Code = 14
	CodeDataLoss           Code = 15
	CodeUnauthenticated    Code = 16
	// CodeOverloaded (courier addition, beyond gRPC's codes) means the
	// server refused the call before running it because it is over its
	// concurrency limit or its queue timed out. The call provably did not
	// run: clients retry it on another server and lower that server's
	// share of calls for a while.
	CodeOverloaded Code = 17
)

var codeNames = [...]string{
	"ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
	"already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
	"aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
	"unauthenticated", "overloaded",
}

// String returns the code's snake_case name.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "code_" + strconv.FormatUint(uint64(c), 10)
}

// ParseCode parses a decimal code as carried on the wire.
func ParseCode(s string) (Code, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return CodeUnknown, false
	}
	return Code(n), true
}

// Coder is implemented by errors that carry a Code.
type Coder interface {
	Code() Code
}

// Error is an error with a code. Handlers return it (NewError, Errorf) to
// give callers a code; it reaches courier clients with the code intact.
type Error struct {
	code Code
	msg  string
}

// NewError returns an error with code c and message msg.
func NewError(c Code, msg string) *Error { return &Error{code: c, msg: msg} }

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// Code returns the code.
func (e *Error) Code() Code { return e.code }

// IsServiceError reports true: an Error is an error of the service, so
// fail modes do not retry it (client.ServiceError).
func (e *Error) IsServiceError() bool { return true }

// CodeOf returns the code of err: CodeOK for nil, the code of the first
// error in its chain that has one, CodeCanceled or CodeDeadlineExceeded for
// context errors, and CodeUnknown otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var c Coder
	if errors.As(err, &c) {
		return c.Code()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	}
	return CodeUnknown
}

// Retryable reports whether a call that failed with code c provably did not
// run on the server and may be sent again, to another server: true only for
// CodeOverloaded. (CodeUnavailable is not enough: a handler may return it
// after doing work.)
func Retryable(c Code) bool { return c == CodeOverloaded }
