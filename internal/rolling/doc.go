// Package rolling holds the rolling-restart test: three courier server
// processes behind one XClient with a fixed server list, under a steady
// load of two-way calls and oneway messages, are restarted one at a time
// with SIGTERM (graceful Shutdown), and the test checks that no call failed
// and no oneway message was refused or lost (the servers count what they
// received). The package has no code besides its test.
//
// Run it with
//
//	go test -count=1 -v ./internal/rolling/
//
// (make test-rolling; skipped with -short). It takes about 35 seconds:
// 30 s of load plus process start-up. COURIER_ROLLING_SECONDS shortens or
// lengthens the load phase.
package rolling
