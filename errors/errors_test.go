package errors_test

import (
	stderrors "errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/courier-rpc/courier/errors"
)

type codeErr struct{ code int }

func (e *codeErr) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestMultiErrorBasics(t *testing.T) {
	var nilME *errors.MultiError
	if nilME.ErrorOrNil() != nil {
		t.Fatal("nil MultiError is not nil")
	}
	e := errors.NewMultiError(nil)
	if err := e.ErrorOrNil(); err != nil {
		t.Fatalf("empty ErrorOrNil = %v", err)
	}
	if e.Error() != "[]" {
		t.Fatalf("empty Error() = %q", e.Error())
	}
	e.Append(io.EOF)
	e.Append(fmt.Errorf("wrapped: %w", &codeErr{7}))
	err := e.ErrorOrNil()
	if err == nil || err.Error() != "[EOF,wrapped: code 7]" {
		t.Fatalf("ErrorOrNil = %v", err)
	}
	seeded := errors.NewMultiError([]error{io.ErrUnexpectedEOF})
	if seeded.ErrorOrNil() == nil || len(seeded.Errors) != 1 {
		t.Fatal("NewMultiError lost its errors")
	}
}

func TestMultiErrorIsAs(t *testing.T) {
	e := errors.NewMultiError(nil)
	e.Append(io.EOF)
	e.Append(fmt.Errorf("ctx: %w", &codeErr{42}))
	err := fmt.Errorf("broadcast: %w", e.ErrorOrNil())
	if !stderrors.Is(err, io.EOF) {
		t.Fatal("errors.Is does not see a collected error")
	}
	if stderrors.Is(err, io.ErrClosedPipe) {
		t.Fatal("errors.Is sees an error that is not there")
	}
	var ce *codeErr
	if !stderrors.As(err, &ce) || ce.code != 42 {
		t.Fatal("errors.As does not find a wrapped collected error")
	}
	var me *errors.MultiError
	if !stderrors.As(err, &me) || me != e {
		t.Fatal("errors.As does not find the MultiError")
	}
	// Unwrap returns a copy: changing it does not change e.
	u := e.Unwrap()
	u[0] = nil
	if e.Errors[0] != io.EOF {
		t.Fatal("Unwrap exposes the internal slice")
	}
}

func TestMultiErrorConcurrentAppend(t *testing.T) {
	e := errors.NewMultiError(nil)
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e.Append(fmt.Errorf("g%d-%d", g, i))
				_ = e.Error()
				_ = e.ErrorOrNil()
				_ = stderrors.Is(e, io.EOF)
			}
		})
	}
	wg.Wait()
	if len(e.Errors) != goroutines*each {
		t.Fatalf("%d errors, want %d", len(e.Errors), goroutines*each)
	}
	if strings.Count(e.Error(), ",") != goroutines*each-1 {
		t.Fatal("Error() does not list every error")
	}
}
