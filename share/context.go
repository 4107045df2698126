package share

import (
	"context"
	"fmt"
	"sync"
)

// Context is rpcx's mutable context: a context.Context with a map of local
// values that handlers and plugins can set and delete. It is safe for
// concurrent use.
type Context struct {
	context.Context
	tagsLock *sync.Mutex
	tags     map[interface{}]interface{}
}

// NewContext wraps ctx.
func NewContext(ctx context.Context) *Context {
	return &Context{Context: ctx, tagsLock: &sync.Mutex{}, tags: make(map[interface{}]interface{})}
}

// WithValue returns a Context derived from parent with key set to val.
func WithValue(parent context.Context, key, val interface{}) *Context {
	c := NewContext(parent)
	c.tags[key] = val
	return c
}

// WithLocalValue sets key to val in ctx and returns ctx.
func WithLocalValue(ctx *Context, key, val interface{}) *Context {
	ctx.SetValue(key, val)
	return ctx
}

// IsShareContext reports whether ctx is a *Context.
func IsShareContext(ctx context.Context) bool {
	_, ok := ctx.(*Context)
	return ok
}

// Value returns the local value of key, or the wrapped context's.
func (c *Context) Value(key interface{}) interface{} {
	c.tagsLock.Lock()
	v, ok := c.tags[key]
	c.tagsLock.Unlock()
	if ok {
		return v
	}
	return c.Context.Value(key)
}

// SetValue sets a local value.
func (c *Context) SetValue(key, val interface{}) {
	c.tagsLock.Lock()
	c.tags[key] = val
	c.tagsLock.Unlock()
}

// DeleteKey removes a local value.
func (c *Context) DeleteKey(key interface{}) {
	c.tagsLock.Lock()
	delete(c.tags, key)
	c.tagsLock.Unlock()
}

// Lock locks the local values (for callers that read several at once).
func (c *Context) Lock() { c.tagsLock.Lock() }

// Unlock unlocks the local values.
func (c *Context) Unlock() { c.tagsLock.Unlock() }

// String describes the context.
func (c *Context) String() string {
	c.tagsLock.Lock()
	defer c.tagsLock.Unlock()
	return fmt.Sprintf("%v.WithValue(%v)", c.Context, c.tags)
}
