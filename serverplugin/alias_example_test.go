package serverplugin_test

import (
	"context"
	"fmt"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

func ExampleAliasPlugin() {
	a := serverplugin.NewAliasPlugin()
	a.Alias("a.b.c.d", "Times", "Arith", "Mul")
	s := server.NewServer()
	s.Plugins.Add(a)
	s.Plugins.Add(a.ResponsePlugin()) // optional: alias names in responses too

	// What the server does with a request for the alias:
	req := protocol.NewMessage()
	req.ServicePath, req.ServiceMethod = "a.b.c.d", "Times"
	_ = s.Plugins.DoPostReadRequest(context.Background(), req, nil)
	fmt.Println(req.ServicePath + "." + req.ServiceMethod)
	// Output: Arith.Mul
}
