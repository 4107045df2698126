package health

import (
	"context"
	"fmt"

	"github.com/courier-rpc/courier/client"
)

// CheckServer dials network@address with the default client options, calls
// Health.Check for service ("" for the whole server) and closes the
// connection. It is the client side of a probe (a script, an exec probe).
// Errors: those of dialing and of the call (a server without the Health
// service answers a "can not find service" error).
func CheckServer(ctx context.Context, network, address, service string) (Status, error) {
	c := client.NewClient(client.DefaultOption)
	if err := c.Connect(network, address); err != nil {
		return "", fmt.Errorf("health: dial %s@%s: %w", network, address, err)
	}
	defer c.Close()
	var reply CheckResponse
	if err := c.Call(ctx, ServiceName, "Check", &CheckRequest{Service: service}, &reply); err != nil {
		return "", fmt.Errorf("health: check %q on %s@%s: %w", service, network, address, err)
	}
	return reply.Status, nil
}
