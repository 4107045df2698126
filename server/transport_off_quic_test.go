//go:build !quic

package server_test

func init() { offNets = append(offNets, "quic") }
