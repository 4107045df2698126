// Package errors holds MultiError, the error of calls that fan out to
// several servers (XClient.Broadcast).
package errors

import (
	"strings"
	"sync"
)

// MultiError collects errors. It is safe for concurrent use.
type MultiError struct {
	Errors []error
	mu     sync.Mutex
}

// NewMultiError returns a MultiError holding errors.
func NewMultiError(errors []error) *MultiError { return &MultiError{Errors: errors} }

// Append adds err.
func (e *MultiError) Append(err error) {
	e.mu.Lock()
	e.Errors = append(e.Errors, err)
	e.mu.Unlock()
}

// Error joins the messages of all errors.
func (e *MultiError) Error() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	b.WriteString("[")
	for i, err := range e.Errors {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(err.Error())
	}
	b.WriteString("]")
	return b.String()
}

// ErrorOrNil returns e, or nil if it holds no error.
func (e *MultiError) ErrorOrNil() error {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	n := len(e.Errors)
	e.mu.Unlock()
	if n == 0 {
		return nil
	}
	return e
}

// Unwrap returns the collected errors so errors.Is and errors.As see them.
func (e *MultiError) Unwrap() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.Errors...)
}
