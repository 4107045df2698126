// Package rolling holds the rolling-restart tests: three courier server
// processes behind one XClient with a fixed server list, under a steady
// load of two-way calls and oneway messages, are restarted one at a time
// with SIGTERM (graceful Shutdown), and the test checks that no call failed
// and no oneway message was refused or lost (the servers count what they
// received). TestRollingRestartEtcd (build tag etcd, run by
// scripts/engine-tests.sh) does the same with the servers registered in a
// real etcd and found through etcd discovery, shutting down in the
// readiness order (not ready, deregistered, 1 s delay, drain). The package
// has no code besides its tests.
//
// Run it with
//
//	go test -count=1 -v ./internal/rolling/
//
// (make test-rolling; skipped with -short). It takes about 35 seconds:
// 30 s of load plus process start-up. COURIER_ROLLING_SECONDS shortens or
// lengthens the load phase.
package rolling
