package client

import "time"

// Breaker is a circuit breaker guarding one server. Call runs fn through the
// breaker with timeout d; Fail and Success record outcomes of calls made
// outside Call; Ready reports whether the breaker lets a call through.
type Breaker interface {
	Call(func() error, time.Duration) error
	Fail()
	Success()
	Ready() bool
}
