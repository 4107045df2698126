package serverplugin

import (
	"context"
	"sync"

	"github.com/courier-rpc/courier/protocol"
)

// aliasPair is one side of an alias: a service path and a method name.
type aliasPair struct {
	servicePath, serviceMethod string
}

// AliasPlugin lets clients call a registered method under another service
// path and method name. PostReadRequest rewrites a request addressed to an
// alias to the real service path and method before the server dispatches it.
//
// Responses: the server answers with the request's sequence number, which is
// all clients (rpcx's and courier's) use to match a response to its call, so
// an aliased call works without anything else. The response's service path
// and method, however, name the real method, because the request was
// rewritten. To have responses carry the alias names, also add
// ResponsePlugin's value to the server. (rpcx's PreWriteResponse, kept here
// for source compatibility, has three parameters and is therefore never
// called by a server.)
//
// Add aliases with Alias before the server starts; Alias is safe to call
// concurrently with requests, but writing the exported maps directly is not.
type AliasPlugin struct {
	// Aliases maps "aliasPath.aliasMethod" to the real path and method.
	Aliases map[string]*aliasPair
	// ReseverseAliases (sic, rpcx's spelling) maps "path.method" of a real
	// method to the last alias registered for it.
	ReseverseAliases map[string]*aliasPair

	mu sync.RWMutex
}

// NewAliasPlugin returns an AliasPlugin with no aliases.
func NewAliasPlugin() *AliasPlugin {
	return &AliasPlugin{
		Aliases:          make(map[string]*aliasPair),
		ReseverseAliases: make(map[string]*aliasPair),
	}
}

// Alias makes aliasServicePath.aliasServiceMethod call
// servicePath.serviceMethod. A later Alias for the same alias replaces the
// earlier one. Alias is safe for concurrent use.
func (p *AliasPlugin) Alias(aliasServicePath, aliasServiceMethod string, servicePath, serviceMethod string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Aliases == nil {
		p.Aliases = make(map[string]*aliasPair)
	}
	if p.ReseverseAliases == nil {
		p.ReseverseAliases = make(map[string]*aliasPair)
	}
	p.Aliases[aliasServicePath+"."+aliasServiceMethod] = &aliasPair{servicePath, serviceMethod}
	p.ReseverseAliases[servicePath+"."+serviceMethod] = &aliasPair{aliasServicePath, aliasServiceMethod}
}

// lookup returns the pair that "path.method" maps to in the forward
// (Aliases) or reverse (ReseverseAliases) map, or nil.
func (p *AliasPlugin) lookup(reverse bool, path, method string) *aliasPair {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m := p.Aliases
	if reverse {
		m = p.ReseverseAliases
	}
	if len(m) == 0 {
		return nil
	}
	return m[path+"."+method]
}

// PostReadRequest rewrites r's service path and method when they name an
// alias. It implements server.PostReadRequestPlugin; it ignores requests that
// failed to read (e != nil or r == nil) and returns nil.
func (p *AliasPlugin) PostReadRequest(ctx context.Context, r *protocol.Message, e error) error {
	if e != nil || r == nil {
		return nil
	}
	if a := p.lookup(false, r.ServicePath, r.ServiceMethod); a != nil {
		r.ServicePath, r.ServiceMethod = a.servicePath, a.serviceMethod
	}
	return nil
}

// PreWriteResponse sets res's service path and method to the alias of r's
// (real) path and method, if one was registered. It keeps rpcx's
// three-parameter shape for source compatibility, which does not match
// server.PreWriteResponsePlugin, so a server never calls it; add
// ResponsePlugin's value to the server for that. It always returns nil.
func (p *AliasPlugin) PreWriteResponse(ctx context.Context, r *protocol.Message, res *protocol.Message) error {
	if r == nil || res == nil {
		return nil
	}
	if a := p.lookup(true, r.ServicePath, r.ServiceMethod); a != nil {
		res.ServicePath, res.ServiceMethod = a.servicePath, a.serviceMethod
	}
	return nil
}

// ResponsePlugin returns a plugin that, added to the same server as p,
// restores alias names in responses: its PreWriteResponse has the
// four-parameter shape of server.PreWriteResponsePlugin. A response to a
// direct call of a method that has an alias also carries the alias names
// (the request does not say which name was used); clients match responses
// by sequence number, so this is cosmetic.
func (p *AliasPlugin) ResponsePlugin() *AliasResponsePlugin {
	return &AliasResponsePlugin{alias: p}
}

// AliasResponsePlugin is the response side of an AliasPlugin, made by
// AliasPlugin.ResponsePlugin. It is safe for concurrent use.
type AliasResponsePlugin struct {
	alias *AliasPlugin
}

// PreWriteResponse sets res's service path and method to the alias of req's
// real path and method. It implements server.PreWriteResponsePlugin and
// always returns nil.
func (p *AliasResponsePlugin) PreWriteResponse(ctx context.Context, req *protocol.Message, res *protocol.Message, err error) error {
	return p.alias.PreWriteResponse(ctx, req, res)
}
