package server

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// reqCtx is the ctx of one request: one allocation that answers the
// server's context keys itself instead of a chain of context.WithValue.
// Its parent is the connection's ctx (cancelled when the connection closes
// or the server is closed). A deadline the client sent is its own (see
// deadline.go): a timer exists only once someone waits on it.
//
// It is allocated for every request, and its bytes were most of what the
// server allocated per call besides the payload's own decoding, which sets
// how often the garbage collector runs (a quarter of the server's CPU at
// c=1000): what every request has in common with the others of its
// connection is in reqSource, what few requests need in reqMore, made when
// first needed, so that it stays within 48 bytes (TestReqCtxSize; it was
// 152, in the 160-byte size class).
type reqCtx struct {
	src     *reqSource
	reqMeta map[string]string
	start   int64
	// res is the pooled response of an rpcx-protocol call, set while its
	// method runs: the reply is encoded into its buffer (encodeReply).
	// nil elsewhere (HTTP, oneway).
	res         *protocol.Message
	more        atomic.Pointer[reqMore]
	callPlugins bool // PreCall/PostCall hooks may exist
}

// reqSource is what the requests of one connection share: their ctx's
// parent, the server and the connection. A connection's is part of its
// conn; an HTTP invocation, and a call whose parent is what the observers'
// StartCall returned, get their own.
type reqSource struct {
	ctx context.Context
	s   *Server
	nc  net.Conn
}

// reqMore is the part of a reqCtx few requests need: a deadline of their
// own (set before the ctx is shared), the send time (when write plugins or
// observers can read it) and response metadata (when a handler asks).
type reqMore struct {
	dl      lazyDeadline
	ended   atomic.Bool // the request with a deadline ended: dl.timed is (or is made) cancelled
	sendAt  atomic.Int64
	resMeta atomic.Pointer[map[string]string]
}

// extra returns c's reqMore, making it on first use (by compare-and-swap:
// a handler's goroutines may ask at once).
func (c *reqCtx) extra() *reqMore {
	if m := c.more.Load(); m != nil {
		return m
	}
	m := new(reqMore)
	if c.more.CompareAndSwap(nil, m) {
		return m
	}
	return c.more.Load()
}

// setSendAt records when the response was handed over to be written
// (StartSendRequestContextKey).
func (c *reqCtx) setSendAt(ns int64) { c.extra().sendAt.Store(ns) }

// Value answers share.ReqMetaDataKey (the request metadata, valid during
// the call), share.ResMetaDataKey (a map whose entries become response
// metadata), RemoteConnContextKey, StartRequestContextKey and
// StartSendRequestContextKey; other keys go to the parent.
func (c *reqCtx) Value(key any) any {
	switch key {
	case share.ReqMetaDataKey:
		return c.reqMeta
	case share.ResMetaDataKey:
		return c.resMetadata()
	case RemoteConnContextKey:
		return c.src.nc
	case StartRequestContextKey:
		return c.start
	case StartSendRequestContextKey:
		if m := c.more.Load(); m != nil {
			return m.sendAt.Load()
		}
		return int64(0)
	}
	return c.src.ctx.Value(key)
}

func (c *reqCtx) resMetadata() map[string]string {
	x := c.extra()
	if p := x.resMeta.Load(); p != nil {
		return *p
	}
	m := make(map[string]string)
	if x.resMeta.CompareAndSwap(nil, &m) {
		return m
	}
	return *x.resMeta.Load() // another goroutine made it first
}

// takeResMeta returns the response metadata map if a handler asked for it.
func (c *reqCtx) takeResMeta() map[string]string {
	if m := c.more.Load(); m != nil {
		if p := m.resMeta.Load(); p != nil {
			return *p
		}
	}
	return nil
}

// String describes the ctx.
func (c *reqCtx) String() string { return "server request context" }

// Handler handles a request routed with AddHandler: it reads the request
// through ctx and answers with ctx.Write or ctx.WriteError.
type Handler func(ctx *Context) error

// Context is the request and response of a Handler. Its methods are safe
// for concurrent use; the request (Metadata, Payload) is valid until the
// handler returns.
type Context struct {
	conn  net.Conn
	req   *protocol.Message
	ctx   *share.Context
	async bool

	c       *conn   // set when the server made the Context
	s       *Server // idem
	written atomic.Bool
}

// NewContext returns a Context for req that arrived on conn. Responses
// written through a Context made by NewContext go straight to conn; the
// server's own Contexts queue them on the connection's writer.
func NewContext(ctx *share.Context, conn net.Conn, req *protocol.Message, async bool) *Context {
	return &Context{conn: conn, req: req, ctx: ctx, async: async}
}

// Get returns the value of key in the request ctx.
func (ctx *Context) Get(key interface{}) interface{} { return ctx.ctx.Value(key) }

// SetValue sets a local value of the request ctx.
func (ctx *Context) SetValue(key, val interface{}) { ctx.ctx.SetValue(key, val) }

// DeleteKey removes a local value of the request ctx.
func (ctx *Context) DeleteKey(key interface{}) { ctx.ctx.DeleteKey(key) }

// Metadata returns the request metadata (nil when there is none).
func (ctx *Context) Metadata() map[string]string { return ctx.req.Metadata }

// Payload returns the request payload.
func (ctx *Context) Payload() []byte { return ctx.req.Payload }

// ServicePath returns the request's service path.
func (ctx *Context) ServicePath() string { return ctx.req.ServicePath }

// ServiceMethod returns the request's service method.
func (ctx *Context) ServiceMethod() string { return ctx.req.ServiceMethod }

// Context returns the request ctx as a context.Context.
func (ctx *Context) Context() context.Context { return ctx.ctx }

func (ctx *Context) codec() (codec.Codec, error) {
	st := ctx.req.SerializeType()
	var cd codec.Codec
	if ctx.s != nil {
		cd = ctx.s.codecs.Get(st)
	} else {
		cd = share.NewCodecTable().Get(st)
	}
	if cd == nil {
		return nil, fmt.Errorf("server: can not find codec for %d", st)
	}
	return cd, nil
}

// Bind decodes the request payload into v with the request's codec.
func (ctx *Context) Bind(v interface{}) error {
	cd, err := ctx.codec()
	if err != nil {
		return err
	}
	if len(ctx.req.Payload) == 0 {
		return nil
	}
	return cd.Decode(ctx.req.Payload, v)
}

// Write encodes v with the request's codec and sends it as the response
// (nothing for oneway requests). The response carries the entries of the
// ctx's share.ResMetaDataKey map.
func (ctx *Context) Write(v interface{}) error {
	if ctx.req.IsOneway() {
		return nil
	}
	cd, err := ctx.codec()
	if err != nil {
		return err
	}
	data, err := cd.Encode(v)
	if err != nil {
		return fmt.Errorf("server: encode reply: %w", err)
	}
	res := newResponse(ctx.req)
	res.Payload = data
	return ctx.send(res, nil)
}

// WriteError sends err as the error response (nothing for oneway requests).
func (ctx *Context) WriteError(err error) error {
	if ctx.req.IsOneway() {
		return nil
	}
	res := newResponse(ctx.req)
	return ctx.send(res, err)
}

func (ctx *Context) send(res *protocol.Message, err error) error {
	var rc *reqCtx
	if ctx.ctx != nil {
		rc, _ = ctx.ctx.Context.(*reqCtx)
	}
	var resMeta map[string]string
	if rc != nil {
		resMeta = rc.takeResMeta()
	} else if ctx.ctx != nil {
		resMeta, _ = ctx.ctx.Value(share.ResMetaDataKey).(map[string]string)
	}
	mergeMeta(res, resMeta)
	if err != nil {
		var errFunc func(*protocol.Message, error) string
		if ctx.s != nil {
			errFunc = ctx.s.ServerErrorFunc
		}
		setError(res, err, errFunc)
	}
	compressReply(ctx.req, res)
	if ctx.c == nil {
		defer protocol.FreeMsg(res)
		_, werr := res.WriteTo(ctx.conn)
		return werr
	}
	first := ctx.written.CompareAndSwap(false, true)
	info := requestInfo(ctx.req)
	if rc != nil {
		rc.setSendAt(nowNano())
		_ = ctx.s.Plugins.DoPreWriteResponse(rc, info, res, err)
	}
	ctx.c.enqueue(outItem{msg: res, req: info, ctx: rc, kind: itemResponse, done: first})
	return nil
}

// requestInfo copies what plugins may read of a request (header, path,
// method) so that it outlives the pooled request.
func requestInfo(req *protocol.Message) *protocol.Message {
	h := *req.Header
	return &protocol.Message{Header: &h, ServicePath: req.ServicePath, ServiceMethod: req.ServiceMethod}
}
