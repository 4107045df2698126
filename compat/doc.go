// Package compat holds courier's wire-compatibility tests against rpcx
// v1.9.1. It is a separate module so that the main module never depends on
// rpcx: rpcx is only a test peer here.
//
// The tests check both directions over real TCP on 127.0.0.1 (an rpcx
// client against a courier server, a courier client against an rpcx server)
// and compare the two implementations of the frame format byte by byte.
// Run them with
//
//	cd compat && go test -race ./...
package compat
