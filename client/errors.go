package client

import (
	"context"
	"errors"
	"strconv"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Sentinel errors of the client package (rpcx texts).
var (
	// ErrShutdown means the connection is closed or closing.
	ErrShutdown = errors.New("connection is shut down")
	// ErrUnsupportedCodec means no codec is registered for the serialize type.
	ErrUnsupportedCodec = errors.New("unsupported codec")
	// ErrBreakerOpen means the server's circuit breaker is open.
	ErrBreakerOpen = errors.New("breaker open")
	// ErrBreakerTimeout means a call through the breaker timed out.
	ErrBreakerTimeout = errors.New("breaker time out")
	// ErrXClientShutdown means the XClient is closed.
	ErrXClientShutdown = errors.New("xClient is shut down")
	// ErrXClientNoServer means discovery offers no usable server.
	ErrXClientNoServer = errors.New("can not found any server")
	// ErrServerUnavailable means the selected server cannot be used.
	ErrServerUnavailable = errors.New("selected server is unavailable")
	// ErrDraining means the server sent its drain notice on this connection:
	// it is shutting down gracefully and takes no new calls here. Fail
	// modes other than Failfast retry it on another server.
	ErrDraining = errors.New("client: server is draining")
)

// ServiceError is an error returned by the remote service (the handler
// returned an error). Fail modes never retry service errors.
type ServiceError interface {
	Error() string
	IsServiceError() bool
}

// ClientErrorFunc, when set, turns an error response into the error the
// caller gets. Set it before clients are created.
var ClientErrorFunc func(res *protocol.Message, e string) ServiceError

type strErr string

func (s strErr) Error() string        { return string(s) }
func (s strErr) IsServiceError() bool { return true }

// NewServiceError returns a ServiceError with message s.
func NewServiceError(s string) ServiceError { return strErr(s) }

// codedError is a ServiceError from a courier server that sent a code.
type codedError struct {
	msg  string
	code share.Code
}

func (e *codedError) Error() string        { return e.msg }
func (e *codedError) IsServiceError() bool { return true }
func (e *codedError) Code() share.Code     { return e.code }

// Is makes a remote deadline or cancellation match the context errors, so
// errors.Is(err, context.DeadlineExceeded) holds whether the caller's own
// timer or the server's propagated deadline fired first.
func (e *codedError) Is(target error) bool {
	switch e.code {
	case share.CodeDeadlineExceeded:
		return target == context.DeadlineExceeded
	case share.CodeCanceled:
		return target == context.Canceled
	}
	return false
}

// drainError is the answer of a draining server to a call it did not take.
// It is not a ServiceError: fail modes retry it elsewhere.
type drainError struct{ msg string }

func (e *drainError) Error() string    { return "client: " + e.msg }
func (e *drainError) Unwrap() error    { return ErrDraining }
func (e *drainError) Code() share.Code { return share.CodeUnavailable }

// serviceErrorOf builds the error of an error response.
func serviceErrorOf(res *protocol.Message, errFunc func(*protocol.Message, string) ServiceError) error {
	msg := res.Metadata[protocol.ServiceError]
	if _, ok := res.Metadata[share.DrainKey]; ok {
		return &drainError{msg: msg}
	}
	if errFunc != nil {
		return errFunc(res, msg)
	}
	if c, ok := res.Metadata[share.ErrorCodeKey]; ok {
		if n, err := strconv.ParseUint(c, 10, 32); err == nil {
			return &codedError{msg: msg, code: share.Code(n)}
		}
	}
	return strErr(msg)
}

// IsServiceError reports whether err is (or wraps) an error of the remote
// service rather than of the connection.
func IsServiceError(err error) bool {
	var se ServiceError
	return errors.As(err, &se) && se.IsServiceError()
}
