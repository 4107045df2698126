package protocol

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// HTTP header names of rpcx's HTTP mapping, used by HTTP invocation on a
// server's port and by gateways. rpcx's own client package spells the
// message-type header "X-RPCX-MesssageType"; servers accept both spellings.
const (
	// HeaderPrefix starts every header name of the mapping.
	HeaderPrefix            = "X-RPCX-"
	HeaderVersion           = "X-RPCX-Version"
	HeaderMessageType       = "X-RPCX-MessageType"
	HeaderMessageTypeLegacy = "X-RPCX-MesssageType"
	HeaderHeartbeat         = "X-RPCX-Heartbeat"
	HeaderOneway            = "X-RPCX-Oneway"
	HeaderMessageStatusType = "X-RPCX-MessageStatusType"
	HeaderSerializeType     = "X-RPCX-SerializeType"
	HeaderCompressType      = "X-RPCX-CompressType"
	HeaderMessageID         = "X-RPCX-MessageID"
	HeaderServicePath       = "X-RPCX-ServicePath"
	HeaderServiceMethod     = "X-RPCX-ServiceMethod"
	HeaderMeta              = "X-RPCX-Meta"
	HeaderErrorMessage      = "X-RPCX-ErrorMessage"
)

// Errors of the HTTP mapping.
var (
	// ErrBadHTTPRequest means an HTTP request lacks a required X-RPCX
	// header or has a malformed one.
	ErrBadHTTPRequest = errors.New("protocol: bad http rpc request")
)

// authKey mirrors share.AuthKey (protocol cannot import share).
const authKey = "__AUTH"

// MessageFromHTTP turns an HTTP request with X-RPCX-* headers into a
// request message, reading at most maxBody bytes of body (<= 0: the default
// maximum message length). The Authorization header becomes the auth token
// (metadata "__AUTH"); Content-Encoding: gzip marks the payload gzipped and
// inflates it through the same limit.
func MessageFromHTTP(r *http.Request, maxBody int) (*Message, error) {
	if maxBody <= 0 {
		maxBody = DefaultLimits().MaxMessageLength
	}
	h := r.Header
	m := NewMessage()
	if s := h.Get(HeaderMessageID); s != "" {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q", ErrBadHTTPRequest, HeaderMessageID, s)
		}
		m.SetSeq(id)
	}
	m.SetHeartbeat(isTrue(h.Get(HeaderHeartbeat)))
	m.SetOneway(isTrue(h.Get(HeaderOneway)))
	st := h.Get(HeaderSerializeType)
	if st == "" {
		return nil, fmt.Errorf("%w: empty serialize type (%s)", ErrBadHTTPRequest, HeaderSerializeType)
	}
	n, err := strconv.Atoi(st)
	if err != nil || n < 0 || n > 15 {
		return nil, fmt.Errorf("%w: %s %q", ErrBadHTTPRequest, HeaderSerializeType, st)
	}
	m.SetSerializeType(SerializeType(n))
	if meta := h.Get(HeaderMeta); meta != "" {
		q, err := url.ParseQuery(meta)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadHTTPRequest, HeaderMeta, err)
		}
		m.Metadata = make(map[string]string, len(q))
		for k, v := range q {
			if len(v) > 0 {
				m.Metadata[k] = v[0]
			}
		}
	}
	if auth := h.Get("Authorization"); auth != "" {
		if m.Metadata == nil {
			m.Metadata = make(map[string]string, 1)
		}
		m.Metadata[authKey] = auth
	}
	if !m.IsHeartbeat() {
		m.ServicePath = h.Get(HeaderServicePath)
		m.ServiceMethod = h.Get(HeaderServiceMethod)
		if m.ServicePath == "" || m.ServiceMethod == "" {
			return nil, fmt.Errorf("%w: empty service path or method", ErrBadHTTPRequest)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(maxBody)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: body: %w", ErrBadHTTPRequest, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrMessageTooLong, maxBody)
	}
	if h.Get("Content-Encoding") == "gzip" && len(body) > 0 {
		if body, err = gunzipLimited(body, maxBody); err != nil {
			return nil, err
		}
	}
	m.Payload = body
	return m, nil
}

func isTrue(s string) bool {
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	return err != nil || b // any non-boolean value counts as set, as rpcx does
}

// WriteHTTPResponse writes res as the HTTP answer to a request that came in
// through MessageFromHTTP: X-RPCX-* headers carry the message ID, status,
// serialize type and metadata (URL-encoded), X-RPCX-ErrorMessage carries the
// error text of an error response, and the body is the payload. The status
// code is 200 for both normal and error responses, as rpcx's gateway
// answers; transport failures are the caller's to report (see
// WriteHTTPError). WriteHTTPResponseCode sets another status code.
func WriteHTTPResponse(w http.ResponseWriter, res *Message) {
	WriteHTTPResponseCode(w, res, http.StatusOK)
}

// WriteHTTPResponseCode writes res as WriteHTTPResponse does, with status
// code. rpcx's servers answer an HTTP invoke whose service failed with 500
// and one that failed authentication with 401.
func WriteHTTPResponseCode(w http.ResponseWriter, res *Message, code int) {
	wh := w.Header()
	wh.Set(HeaderVersion, strconv.Itoa(int(res.Version())))
	wh.Set(HeaderMessageType, "1")
	wh.Set(HeaderMessageID, strconv.FormatUint(res.Seq(), 10))
	wh.Set(HeaderSerializeType, strconv.Itoa(int(res.SerializeType())))
	if res.IsHeartbeat() {
		wh.Set(HeaderHeartbeat, "true")
	}
	if res.MessageStatusType() == Error {
		wh.Set(HeaderMessageStatusType, "Error")
		wh.Set(HeaderErrorMessage, res.Metadata[ServiceError])
	} else {
		wh.Set(HeaderMessageStatusType, "Normal")
	}
	if len(res.Metadata) > 0 {
		q := url.Values{}
		for k, v := range res.Metadata {
			q.Set(k, v)
		}
		wh.Set(HeaderMeta, q.Encode())
	}
	w.WriteHeader(code)
	_, _ = w.Write(res.Payload)
}

// WriteHTTPError answers an HTTP rpc request that could not be carried out
// (bad headers, no server, transport failure) with status code, the error
// text in X-RPCX-ErrorMessage and status type Error.
func WriteHTTPError(w http.ResponseWriter, code int, err error) {
	wh := w.Header()
	wh.Set(HeaderMessageStatusType, "Error")
	wh.Set(HeaderErrorMessage, err.Error())
	wh.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, err.Error())
}
