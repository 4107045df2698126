package testutils

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/courier-rpc/courier/share"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ProtoEcho echoes protobuf messages (serialize type ProtoBuffer).
type ProtoEcho struct{}

// Echo copies args into reply.
func (p *ProtoEcho) Echo(ctx context.Context, args *wrapperspb.StringValue, reply *wrapperspb.StringValue) error {
	reply.Value = args.GetValue()
	return nil
}

// Meta echoes request metadata into response metadata, adding "echo"="yes".
type Meta struct{}

// Echo copies every request metadata entry into the response metadata and
// sets reply.C to the number of entries whose key is not reserved (does
// not start with "__", like the deadline courier adds).
func (m *Meta) Echo(ctx context.Context, args *Args, reply *Reply) error {
	req, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	res, _ := ctx.Value(share.ResMetaDataKey).(map[string]string)
	if res != nil {
		for k, v := range req {
			res[k] = v
		}
		res["echo"] = "yes"
	}
	for k := range req {
		if !strings.HasPrefix(k, "__") {
			reply.C++
		}
	}
	return nil
}

// Counter counts calls; its Hit method is used for oneway tests.
type Counter struct {
	n    atomic.Int64
	mu   sync.Mutex
	wait chan struct{}
	goal int64
}

// Hit counts one call.
func (c *Counter) Hit(ctx context.Context, args *Args, reply *Reply) error {
	n := c.n.Add(1)
	c.mu.Lock()
	if c.wait != nil && n >= c.goal {
		close(c.wait)
		c.wait = nil
	}
	c.mu.Unlock()
	reply.C = int(n)
	return nil
}

// Count returns the number of calls so far.
func (c *Counter) Count() int64 { return c.n.Load() }

// WaitFor returns a channel closed once at least n calls were counted.
func (c *Counter) WaitFor(n int64) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	if c.n.Load() >= n {
		close(ch)
		return ch
	}
	c.wait, c.goal = ch, n
	return ch
}

// Deadline reports the remaining deadline the handler sees.
type Deadline struct{}

// Remaining sets reply.C to the milliseconds left before ctx's deadline, or
// -1 when ctx has none.
func (d *Deadline) Remaining(ctx context.Context, args *Args, reply *Reply) error {
	dl, ok := ctx.Deadline()
	if !ok {
		reply.C = -1
		return nil
	}
	reply.C = int(timeUntil(dl).Milliseconds())
	return nil
}
