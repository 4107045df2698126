//go:build !kcp

package server_test

func init() { offNets = append(offNets, "kcp") }
