// Package roundtrippb is protoc-gen-go's and protoc-gen-courier's output
// for cmd/protoc-gen-courier/testdata/roundtrip.proto, committed so that its
// tests round-trip every scalar and message shape over TCP and so that the
// generator's golden test has a file to compare with. Regenerate with
// go generate (protoc, protoc-gen-go and protoc-gen-courier on PATH).
package roundtrippb

//go:generate protoc -I ../../testdata --go_out=. --go_opt=paths=source_relative --courier_out=. --courier_opt=paths=source_relative roundtrip.proto
