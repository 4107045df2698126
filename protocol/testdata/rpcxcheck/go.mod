module github.com/courier-rpc/courier/protocol/testdata/rpcxcheck

go 1.25

require github.com/smallnest/rpcx v1.9.1

require (
	github.com/fatih/color v1.18.0 // indirect
	github.com/golang/snappy v0.0.4 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
