// Package greeterpb is the code protoc-gen-go and protoc-gen-courier
// generate from greeter.proto. Regenerate it with go generate, with protoc,
// protoc-gen-go and protoc-gen-courier on PATH:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go
//	go install github.com/courier-rpc/courier/cmd/protoc-gen-courier
//	go generate ./examples/protobuf/...
package greeterpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --courier_out=. --courier_opt=paths=source_relative greeter.proto
