package client

import (
	"errors"
	"fmt"
	"strconv"
)

// FailMode decides what XClient.Call does when an attempt fails with an
// error of the connection (service errors are never retried).
type FailMode int

// Fail modes (rpcx values).
const (
	// Failover tries another server, up to Option.Retries more times.
	Failover FailMode = iota
	// Failfast returns the first error.
	Failfast
	// Failtry tries the same server again, up to Option.Retries more times.
	Failtry
	// Failbackup hedges: it sends another request to another server when
	// none has answered within Option.BackupLatency (or the observed
	// Option.HedgeQuantile latency of the method), up to Option.Hedges
	// extra requests; the first success wins and the others are cancelled.
	Failbackup
)

var failModeNames = [...]string{"Failover", "Failfast", "Failtry", "Failbackup"}

// ErrBadMode is returned (wrapped) by FailModeString and SelectModeString
// for an unknown name.
var ErrBadMode = errors.New("client: unknown mode")

// String returns the name of the fail mode ("Failover", ...), or
// "FailMode(n)" for a value that is not a fail mode.
func (i FailMode) String() string {
	if i.IsAFailMode() {
		return failModeNames[i]
	}
	return "FailMode(" + strconv.Itoa(int(i)) + ")"
}

// IsAFailMode reports whether i is one of the defined fail modes.
func (i FailMode) IsAFailMode() bool { return i >= 0 && int(i) < len(failModeNames) }

// FailModeString returns the fail mode named s; an unknown name gives an
// error wrapping ErrBadMode.
func FailModeString(s string) (FailMode, error) {
	for i, n := range failModeNames {
		if n == s {
			return FailMode(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not a FailMode", ErrBadMode, s)
}

// FailModeValues returns every fail mode in order.
func FailModeValues() []FailMode { return []FailMode{Failover, Failfast, Failtry, Failbackup} }

// SelectMode chooses the load-balancing algorithm of an XClient.
type SelectMode int

// Select modes (rpcx values).
const (
	// RandomSelect picks a server at random.
	RandomSelect SelectMode = iota
	// RoundRobin picks servers in turn.
	RoundRobin
	// WeightedRoundRobin is nginx's smooth weighted round robin over the
	// "weight" metadata of servers.
	WeightedRoundRobin
	// WeightedICMP weights servers by their round-trip time (see Ping).
	WeightedICMP
	// ConsistentHash maps servicePath, method and args to a server with
	// JumpConsistentHash.
	ConsistentHash
	// Closest picks the server nearest to the position given with
	// ConfigGeoSelector ("latitude"/"longitude" metadata).
	Closest
	// P2CPeakEWMA (courier addition) draws two servers at random and takes
	// the one with the lower peak-EWMA latency times in-flight calls,
	// divided by its "weight" metadata, unless one is over 4 times slower
	// even on its fastest calls: then the faster wins (see NewP2CSelector).
	P2CPeakEWMA
)

// SelectByUser selects with the Selector given to XClient.SetSelector. It
// is an untyped constant, as in rpcx.
const SelectByUser = 1000

var selectModeNames = [...]string{"RandomSelect", "RoundRobin", "WeightedRoundRobin", "WeightedICMP", "ConsistentHash", "Closest", "P2CPeakEWMA"}

// String returns the name of the select mode ("RandomSelect", ...),
// "SelectByUser" for SelectByUser, or "SelectMode(n)" otherwise.
func (i SelectMode) String() string {
	switch {
	case i.IsASelectMode():
		return selectModeNames[i]
	case i == SelectByUser:
		return "SelectByUser"
	}
	return "SelectMode(" + strconv.Itoa(int(i)) + ")"
}

// IsASelectMode reports whether i is one of the typed select modes
// (SelectByUser, being untyped, is not).
func (i SelectMode) IsASelectMode() bool { return i >= 0 && int(i) < len(selectModeNames) }

// SelectModeString returns the select mode named s; an unknown name gives
// an error wrapping ErrBadMode.
func SelectModeString(s string) (SelectMode, error) {
	for i, n := range selectModeNames {
		if n == s {
			return SelectMode(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not a SelectMode", ErrBadMode, s)
}

// SelectModeValues returns every typed select mode in order.
func SelectModeValues() []SelectMode {
	return []SelectMode{RandomSelect, RoundRobin, WeightedRoundRobin, WeightedICMP, ConsistentHash, Closest, P2CPeakEWMA}
}
