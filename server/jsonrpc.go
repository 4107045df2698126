package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// MaxJSONRPCBatch is the most requests one JSON-RPC batch may hold; a
// longer batch is answered with one invalid-request error.
const MaxJSONRPCBatch = 1024

// CodeServerJSONRPCError is the JSON-RPC code of errors returned by a
// service (the handler's text is the message; a courier code, when the
// error has one, is the data member {"code": n}).
const CodeServerJSONRPCError = CodeUnknownJSONRPCError

// serveJSONRPC answers a JSON-RPC 2.0 request (single or batch) sent over
// HTTP POST. Method "Service.Method" is called with params as its JSON
// argument through the server's request path; X-RPCX-Meta and
// Authorization carry metadata and the auth token as in HTTP invoke, and
// the response metadata of a single request comes back in X-RPCX-Meta.
func (s *Server) serveJSONRPC(w http.ResponseWriter, r *http.Request, nc net.Conn) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		protocol.WriteHTTPError(w, http.StatusMethodNotAllowed, errors.New("server: json-rpc needs POST"))
		return
	}
	ctx := r.Context()
	limitErr, refused := s.preReadHTTP(ctx, w)
	if refused {
		return
	}
	max := s.limits.MaxMessageLength
	if max <= 0 {
		max = math.MaxInt32
	}
	clear := s.bodyDeadline(w)
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil || len(body) > max {
		// Keep the read deadline and drop the connection: net/http would
		// otherwise wait for the rest of an unread body.
		w.Header().Set("Connection", "close")
		s.stats.protocol.Add(1)
		if err != nil {
			protocol.WriteHTTPError(w, http.StatusBadRequest, err)
		} else {
			protocol.WriteHTTPError(w, http.StatusRequestEntityTooLarge, protocol.ErrMessageTooLong)
		}
		return
	}
	clear()
	meta, err := httpMeta(r.Header, s.limits.MaxMetadataEntries)
	if err != nil {
		s.stats.protocol.Add(1)
		protocol.WriteHTTPError(w, httpStatusOf(err), err)
		return
	}
	call := func(raw json.RawMessage) (*jsonrpcResponse, map[string]string) {
		if limitErr != nil {
			return s.jsonrpcRefuse(raw, limitErr), nil
		}
		return s.jsonrpcOne(ctx, nc, raw, meta)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		raws, err := splitBatch(trimmed)
		switch {
		case errors.Is(err, errBatchSize):
			writeJSONRPC(w, jsonrpcFail(nil, CodeInvalidjsonrpcRequest, "invalid request: a batch holds 1 to "+strconv.Itoa(MaxJSONRPCBatch)+" requests"), nil)
			return
		case err != nil:
			writeJSONRPC(w, jsonrpcFail(nil, CodeParseJSONRPCError, "parse error: "+err.Error()), nil)
			return
		}
		out := make([]*jsonrpcResponse, 0, len(raws))
		for _, raw := range raws {
			if res, _ := call(raw); res != nil {
				out = append(out, res)
			}
		}
		if len(out) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSONRPC(w, out, nil)
	case !json.Valid(trimmed):
		writeJSONRPC(w, jsonrpcFail(nil, CodeParseJSONRPCError, "parse error: body is not valid JSON"), nil)
	default:
		res, resMeta := call(trimmed)
		if res == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSONRPC(w, res, resMeta)
	}
}

// errBatchSize is splitBatch's error for an empty batch or one longer
// than MaxJSONRPCBatch.
var errBatchSize = errors.New("server: json-rpc batch size")

// splitBatch splits a JSON array into its entries, as slices of body. It
// stops with errBatchSize as soon as the array is empty or an entry past
// MaxJSONRPCBatch starts, so an oversized batch costs no more than the cap
// allows however long it is; other errors are JSON syntax errors.
func splitBatch(body []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // '['
		return nil, err
	}
	var raws []json.RawMessage
	for dec.More() {
		if len(raws) == MaxJSONRPCBatch {
			return nil, errBatchSize
		}
		start := dec.InputOffset()
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
		raws = append(raws, bytes.TrimLeft(body[start:dec.InputOffset()], " \t\r\n,"))
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, err
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return nil, errors.New("invalid character after top-level value")
	}
	if len(raws) == 0 {
		return nil, errBatchSize
	}
	return raws, nil
}

// traceHeaders are the W3C trace context headers an HTTP client sends; a
// JSON-RPC request carries them on as metadata of the same names.
var traceHeaders = [...]string{share.TraceParentKey, share.TraceStateKey, share.BaggageKey}

// httpMeta reads request metadata from X-RPCX-Meta, the W3C trace context
// headers (unless X-RPCX-Meta has the key) and the auth token from
// Authorization.
func httpMeta(h http.Header, maxEntries int) (map[string]string, error) {
	var meta map[string]string
	if v := h.Get(protocol.HeaderMeta); v != "" {
		q, err := url.ParseQuery(v)
		if err != nil {
			return nil, errors.Join(protocol.ErrBadHTTPRequest, err)
		}
		meta = make(map[string]string, len(q)+1)
		for k, vs := range q {
			meta[k] = vs[0]
		}
	}
	for _, k := range traceHeaders {
		if v := h.Get(k); v != "" {
			if _, ok := meta[k]; !ok {
				if meta == nil {
					meta = make(map[string]string, 3)
				}
				meta[k] = v
			}
		}
	}
	if auth := h.Get("Authorization"); auth != "" {
		if meta == nil {
			meta = make(map[string]string, 1)
		}
		meta[share.AuthKey] = auth
	}
	if maxEntries > 0 && len(meta) > maxEntries {
		return nil, protocol.ErrTooManyMetadata
	}
	return meta, nil
}

// jsonrpcOne runs one request object. It returns nil for a notification,
// and the response metadata of a call.
func (s *Server) jsonrpcOne(ctx context.Context, nc net.Conn, raw json.RawMessage, meta map[string]string) (*jsonrpcResponse, map[string]string) {
	jr, id, fail := parseJSONRPC(raw)
	if fail != nil {
		s.stats.protocol.Add(1)
		return fail, nil
	}
	notify := len(jr.ID) == 0
	var method string
	_ = json.Unmarshal(jr.Method, &method)
	i := strings.LastIndexByte(method, '.')
	if i <= 0 || i == len(method)-1 {
		return jsonrpcReply(notify, jsonrpcFail(id, CodeMethodNotFound, "method not found: want Service.Method, have "+strconv.Quote(method))), nil
	}
	req := protocol.NewMessage()
	req.SetMessageType(protocol.Request)
	req.SetSerializeType(protocol.JSON)
	req.SetOneway(notify)
	req.ServicePath, req.ServiceMethod = method[:i], method[i+1:]
	if id != nil && !id.isString && id.Number >= 0 {
		req.SetSeq(uint64(id.Number))
	}
	if p := bytes.TrimSpace(jr.Params); len(p) > 0 && string(p) != "null" {
		req.Payload = p
	}
	if len(meta) > 0 {
		req.Metadata = make(map[string]string, len(meta))
		for k, v := range meta {
			req.Metadata[k] = v
		}
	}
	if _, err := s.loadRegistry().find(req.ServicePath, req.ServiceMethod); err != nil {
		return jsonrpcReply(notify, jsonrpcFail(id, CodeMethodNotFound, err.Error())), nil
	}
	s.stats.requests.Add(1)
	if err := s.Plugins.DoPostReadRequest(ctx, req, nil); err != nil {
		return jsonrpcReply(notify, jsonrpcFromError(id, err, err.Error())), nil
	}
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if s.state.Load() != stateServing {
		return jsonrpcReply(notify, jsonrpcFromError(id, ErrShuttingDown, ErrShuttingDown.Error())), nil
	}
	res, rc, herr := s.handleSync(ctx, nc, req)
	defer func() { _ = s.Plugins.DoPostWriteResponse(rc, req, res, herr) }()
	if notify {
		return nil, nil
	}
	if res.MessageStatusType() == protocol.Error {
		if herr == nil {
			herr = errors.New(res.Metadata[protocol.ServiceError])
			if c, err := strconv.ParseUint(res.Metadata[share.ErrorCodeKey], 10, 32); err == nil {
				herr = share.NewError(share.Code(c), herr.Error())
			}
		}
		return jsonrpcFromError(id, herr, res.Metadata[protocol.ServiceError]), res.Metadata
	}
	result := json.RawMessage(res.Payload)
	if len(bytes.TrimSpace(result)) == 0 {
		result = json.RawMessage("null")
	} else if !json.Valid(result) {
		return jsonrpcFail(id, CodeInternalJSONRPCError, "internal error: the reply is not JSON"), res.Metadata
	}
	return &jsonrpcResponse{ID: id, Result: &result}, res.Metadata
}

// jsonrpcRefuse answers a request refused before it ran (rate limit).
func (s *Server) jsonrpcRefuse(raw json.RawMessage, err error) *jsonrpcResponse {
	jr, id, fail := parseJSONRPC(raw)
	if fail != nil {
		return fail
	}
	return jsonrpcReply(len(jr.ID) == 0, jsonrpcFromError(id, err, err.Error()))
}

// parseJSONRPC decodes and checks one request object; fail is the error
// response of a request that is not valid.
func parseJSONRPC(raw json.RawMessage) (jr jsonrpcRequest, id *ID, fail *jsonrpcResponse) {
	if err := json.Unmarshal(raw, &jr); err != nil {
		return jr, nil, jsonrpcFail(nil, CodeInvalidjsonrpcRequest, "invalid request: not a request object")
	}
	if len(jr.ID) > 0 && string(jr.ID) != "null" {
		id = new(ID)
		if err := id.UnmarshalJSON(jr.ID); err != nil {
			return jr, nil, jsonrpcFail(nil, CodeInvalidjsonrpcRequest, "invalid request: "+err.Error())
		}
	}
	if err := (VersionTag{}).UnmarshalJSON(jr.Version); err != nil {
		return jr, id, jsonrpcFail(id, CodeInvalidjsonrpcRequest, `invalid request: jsonrpc must be "2.0"`)
	}
	var method string
	if err := json.Unmarshal(jr.Method, &method); err != nil || method == "" {
		return jr, id, jsonrpcFail(id, CodeInvalidjsonrpcRequest, "invalid request: method must be a non-empty string")
	}
	if p := bytes.TrimSpace(jr.Params); len(p) > 0 && p[0] != '{' && p[0] != '[' && string(p) != "null" {
		return jr, id, jsonrpcFail(id, CodeInvalidParams, "invalid params: params must be an object or an array")
	}
	return jr, id, nil
}

// jsonrpcReply returns res, or nil for a notification.
func jsonrpcReply(notify bool, res *jsonrpcResponse) *jsonrpcResponse {
	if notify {
		return nil
	}
	return res
}

func jsonrpcFail(id *ID, code int64, msg string) *jsonrpcResponse {
	return &jsonrpcResponse{ID: id, Error: &JSONRPCError{Code: code, Message: msg}}
}

// jsonrpcFromError maps a request-path error to a JSON-RPC error: argument
// decoding failures are invalid params, unknown methods method-not-found,
// handler panics internal errors, anything else CodeServerJSONRPCError
// with the courier code (if any) in data.
func jsonrpcFromError(id *ID, err error, text string) *jsonrpcResponse {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	code := share.CodeOf(err)
	switch {
	case code == share.CodeInvalidArgument && (errors.As(err, &se) || errors.As(err, &te)):
		return jsonrpcFail(id, CodeInvalidParams, "invalid params: "+text)
	case code == share.CodeUnimplemented:
		return jsonrpcFail(id, CodeMethodNotFound, text)
	case code == share.CodeInternal:
		return jsonrpcFail(id, CodeInternalJSONRPCError, text)
	}
	res := jsonrpcFail(id, CodeServerJSONRPCError, text)
	if code != share.CodeUnknown {
		data := json.RawMessage(`{"code":` + strconv.FormatUint(uint64(code), 10) + `}`)
		res.Error.Data = &data
	}
	return res
}

// writeJSONRPC writes v as the JSON answer, with response metadata (minus
// the error keys) in X-RPCX-Meta.
func writeJSONRPC(w http.ResponseWriter, v interface{}, resMeta map[string]string) {
	b, err := json.Marshal(v)
	if err != nil {
		protocol.WriteHTTPError(w, http.StatusInternalServerError, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	q := url.Values{}
	for k, v := range resMeta {
		if k != protocol.ServiceError && k != share.ErrorCodeKey {
			q.Set(k, v)
		}
	}
	if len(q) > 0 {
		h.Set(protocol.HeaderMeta, q.Encode())
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
