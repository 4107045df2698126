// Package rpcxgreeter is the code protoc-gen-go and protoc-gen-courier
// (with service_path=go, protoc-gen-rpcx's service path) generate from
// greeter.proto, for the test that an rpcx v1.9.1 client calls a generated
// courier server.
package rpcxgreeter

//go:generate protoc --go_out=. --go_opt=paths=source_relative --courier_out=. --courier_opt=paths=source_relative,service_path=go greeter.proto
