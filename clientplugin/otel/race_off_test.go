//go:build !race

package otel_test

// raceEnabled: the race detector changes allocation counts, so exact
// allocation tests skip.
const raceEnabled = false
