module github.com/courier-rpc/courier/compat

go 1.25

replace github.com/courier-rpc/courier => ../

require (
	github.com/courier-rpc/courier v0.0.0-00010101000000-000000000000
	github.com/smallnest/rpcx v1.9.1
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/fatih/color v1.18.0 // indirect
	github.com/golang/snappy v0.0.4 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
