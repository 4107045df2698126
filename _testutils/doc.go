// Package testutils holds helpers for courier's tests: test services
// (Arith), an in-memory pipe listener, self-signed TLS configurations, and
// the transport matrix that runs one behaviour suite over pipe, TCP, Unix
// sockets and TLS. Subpackage leakcheck checks that tests leave no
// goroutines behind.
//
// It is not part of the public API; the leading underscore keeps it out of
// ./... patterns, so the Makefile names it explicitly.
package testutils
