package client

import (
	"context"
	"errors"
	"fmt"
)

// sendOneway sends a oneway message with send, which must transmit it on
// the client it is given. When the message provably did not leave
// (ProvablyNotRun: the chosen server could not be dialled, its breaker or
// reconnect backoff refused it, or its connection was draining or shut
// down before the write), it goes to another server, as Failover would,
// whatever the fail mode: a restarting server must not cost a message.
// Every server is tried at most once, plus Option.Retries more rounds of
// the whole list. Errors
// are those of selection, or the last attempt's when no server took the
// message, or one the message may have left with (no second copy is sent).
func (x *xClient) sendOneway(ctx context.Context, serviceMethod string, args interface{}, send attemptCall) error {
	tried := map[string]bool{}
	var last error
	rounds := 0
	for {
		key, err := x.pick(ctx, serviceMethod, args, tried)
		if errors.Is(err, errAllTried) && rounds < x.retries() {
			rounds++
			clear(tried)
			key, err = x.pick(ctx, serviceMethod, args, tried)
		}
		if err != nil {
			if last != nil {
				return fmt.Errorf("%w (after: %w)", err, last)
			}
			return err
		}
		last = x.attempt(ctx, key, serviceMethod, send)
		if last == nil || ctx.Err() != nil || !ProvablyNotRun(last) {
			return finalErr(ctx, last)
		}
		tried[key] = true
	}
}
