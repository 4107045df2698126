package serverplugin_test

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/serverplugin"
)

func ExampleNewReqRateLimitingPlugin() {
	// Two requests at once, then one per second; excess requests fail.
	p := serverplugin.NewReqRateLimitingPlugin(time.Second, 2, false)
	for i := 0; i < 3; i++ {
		req := protocol.NewMessage()
		req.ServicePath, req.ServiceMethod = "Arith", "Mul"
		fmt.Println(p.PostReadRequest(context.Background(), req, nil))
	}
	// Output:
	// <nil>
	// <nil>
	// request reached rate limit
}
