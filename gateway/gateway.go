// Package gateway turns HTTP requests into courier calls, so that any HTTP
// client (curl, a browser, another language) can call courier and rpcx
// services.
//
// A request carries the rpcx HTTP mapping: X-RPCX-ServicePath,
// X-RPCX-ServiceMethod, X-RPCX-SerializeType (a number: 1 is JSON),
// optional X-RPCX-MessageID, X-RPCX-Meta (URL-encoded metadata),
// X-RPCX-Oneway, X-RPCX-Heartbeat, Authorization (the auth token) and
// Content-Encoding: gzip; the body is the encoded argument. The answer has
// the same headers plus X-RPCX-MessageStatusType ("Normal" or "Error") and
// X-RPCX-ErrorMessage, and the encoded reply as its body. Service errors are
// answered with status 200 and status type Error, as rpcx's gateway does;
// a request that cannot be carried out (bad headers, no server reachable)
// gets 400 or 502.
//
// The gateway calls through a client.OneClient, so it inherits discovery,
// selection, fail modes (Failover by default) and circuit breakers: with two
// backends and one of them killed, calls keep succeeding.
//
//	d, _ := client.NewMultipleServersDiscovery(pairs)
//	gw := gateway.New(d, client.Failover, client.RoundRobin, client.DefaultOption)
//	defer gw.Close()
//	http.ListenAndServe("127.0.0.1:8080", gw)
package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
)

// Gateway is an http.Handler that forwards rpc requests. It is safe for
// concurrent use.
type Gateway struct {
	oc *client.OneClient
	// Timeout bounds each forwarded call (default 30s; the request's own
	// context is honoured too).
	Timeout time.Duration
	// MaxBody bounds a request body (default protocol.DefaultMaxMessageLength).
	MaxBody int
}

// New returns a gateway calling the servers of discovery.
func New(discovery client.ServiceDiscovery, failMode client.FailMode, selectMode client.SelectMode, option client.Option) *Gateway {
	return &Gateway{oc: client.NewOneClient(failMode, selectMode, discovery, option), Timeout: 30 * time.Second}
}

// Close closes the gateway's connections.
func (g *Gateway) Close() error { return g.oc.Close() }

// ServeHTTP forwards one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		protocol.WriteHTTPError(w, http.StatusMethodNotAllowed, errors.New("gateway: use POST with X-RPCX-* headers"))
		return
	}
	req, err := protocol.MessageFromHTTP(r, g.MaxBody)
	if err != nil {
		protocol.WriteHTTPError(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.Timeout)
	defer cancel()
	// SendRaw answers, as in rpcx, with the response header already mapped
	// to X-RPCX-* names (metadata URL-encoded under X-RPCX-Meta).
	headers, payload, err := g.oc.SendRaw(ctx, req)
	if err != nil && !client.IsServiceError(err) {
		protocol.WriteHTTPError(w, http.StatusBadGateway, err)
		return
	}
	wh := w.Header()
	for k, v := range headers {
		if k != "Content-Encoding" { // the payload arrives inflated
			wh.Set(k, v)
		}
	}
	wh.Set(protocol.HeaderMessageID, strconv.FormatUint(req.Seq(), 10)) // the caller's ID, not the connection's
	if err != nil {
		wh.Set(protocol.HeaderMessageStatusType, "Error")
		wh.Set(protocol.HeaderErrorMessage, err.Error())
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}
