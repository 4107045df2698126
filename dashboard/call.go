package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/internal/msgpackjson"
	"github.com/courier-rpc/courier/internal/registryadmin"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
)

// reflectionService is the path reflection is registered under.
const reflectionService = "Reflection"

// callers holds one client connection per server, dialed on first use and
// dropped after a transport error. It is safe for concurrent use.
type callers struct {
	timeout time.Duration
	mu      sync.Mutex
	conns   map[string]*client.Client // by server key; owned by mu
	closed  bool
}

func newCallers(timeout time.Duration) *callers {
	return &callers{timeout: timeout, conns: map[string]*client.Client{}}
}

func (c *callers) close() {
	c.mu.Lock()
	conns := c.conns
	c.conns, c.closed = map[string]*client.Client{}, true
	c.mu.Unlock()
	for _, cl := range conns {
		_ = cl.Close()
	}
}

func (c *callers) get(key string) (*client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("dashboard is shutting down")
	}
	if cl := c.conns[key]; cl != nil && !cl.IsClosing() && !cl.IsShutdown() {
		return cl, nil
	}
	opt := client.DefaultOption
	opt.ConnectTimeout = c.timeout
	opt.Heartbeat = false
	cl := client.NewClient(opt)
	network, addr := util.SplitNetworkAddress(key)
	if err := cl.Connect(network, addr); err != nil {
		return nil, fmt.Errorf("connect %s: %w", key, err)
	}
	c.conns[key] = cl
	return cl, nil
}

// drop forgets key's connection after a transport error.
func (c *callers) drop(key string, cl *client.Client) {
	c.mu.Lock()
	if c.conns[key] == cl {
		delete(c.conns, key)
	}
	c.mu.Unlock()
	_ = cl.Close()
}

// send sends m to server key and returns the reply's metadata and payload.
func (c *callers) send(ctx context.Context, key string, m *protocol.Message) (map[string]string, []byte, error) {
	cl, err := c.get(key)
	if err != nil {
		return nil, nil, err
	}
	md, payload, err := cl.SendRaw(ctx, m)
	if err != nil && (errors.Is(err, client.ErrShutdown) || cl.IsClosing() || cl.IsShutdown()) {
		c.drop(key, cl)
	}
	return md, payload, err
}

// reflect calls Reflection.method with a JSON string argument and returns
// the JSON string it replies.
func (c *callers) reflect(ctx context.Context, key, method, arg string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	m := protocol.NewMessage()
	m.SetSerializeType(protocol.JSON)
	m.ServicePath, m.ServiceMethod = reflectionService, method
	m.Payload, _ = json.Marshal(arg)
	_, payload, err := c.send(ctx, key, m)
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(payload, &s); err != nil {
		return "", fmt.Errorf("%s.%s: reply is not a JSON string: %w", reflectionService, method, err)
	}
	return s, nil
}

// describe returns the JSON description of one service (DescribeService;
// servers whose reflection predates it answer GetService with the same
// JSON).
func (c *callers) describe(ctx context.Context, key, service string) (json.RawMessage, error) {
	s, err := c.reflect(ctx, key, "DescribeService", service)
	if err != nil {
		var err2 error
		if s, err2 = c.reflect(ctx, key, "GetService", service); err2 != nil || !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("%s.DescribeService: %w", reflectionService, err)
		}
	}
	if !json.Valid([]byte(s)) {
		return nil, fmt.Errorf("%s.DescribeService: the reply is not JSON", reflectionService)
	}
	return json.RawMessage(s), nil
}

// serviceNames lists the services a server describes.
func (c *callers) serviceNames(ctx context.Context, key string) ([]string, error) {
	s, err := c.reflect(ctx, key, "DescribeServices", "")
	if err != nil || !json.Valid([]byte(s)) {
		s2, err2 := c.reflect(ctx, key, "GetServices", "")
		if err2 != nil || !json.Valid([]byte(s2)) {
			if err == nil {
				err = errors.New("reflection reply is not JSON")
			}
			return nil, fmt.Errorf("%s.DescribeServices: %w", reflectionService, err)
		}
		s = s2
	}
	var list []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("%s.DescribeServices: %w", reflectionService, err)
	}
	names := make([]string, 0, len(list))
	for _, x := range list {
		names = append(names, x.Name)
	}
	return names, nil
}

// callRequest is the body of POST /api/call.
type callRequest struct {
	Server    string            `json:"server"`
	Service   string            `json:"service"`
	Method    string            `json:"method"`
	Args      string            `json:"args"`
	Metadata  map[string]string `json:"metadata"`
	TimeoutMs int               `json:"timeoutMs"`
	Serialize string            `json:"serialize"`
}

// callResult is the body of a completed call: the reply (JSON when it
// decodes, else text), its metadata, the frame's header fields (X-RPCX-*),
// the duration, and the error with its code when the call failed.
type callResult struct {
	Reply      json.RawMessage   `json:"reply,omitempty"`
	ReplyText  string            `json:"replyText,omitempty"`
	Metadata   map[string]string `json:"metadata"`
	Headers    map[string]string `json:"headers,omitempty"`
	DurationMs float64           `json:"durationMs"`
	Error      string            `json:"error,omitempty"`
	Code       int               `json:"code,omitempty"`
	CodeName   string            `json:"codeName,omitempty"`
}

// fieldError is a request error that belongs to one form field.
type fieldError struct {
	Field string
	Msg   string
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Msg }

// encodeArgs turns the form's JSON argument into the payload of the
// serialize type.
func encodeArgs(args, ser string) (protocol.SerializeType, []byte, error) {
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	switch ser {
	case "", "json", "msgpack":
	case "raw":
		return protocol.SerializeNone, []byte(args), nil
	default:
		return 0, nil, &fieldError{"serialize", fmt.Sprintf("unknown serialize type %q (json, msgpack, raw)", ser)}
	}
	dec := json.NewDecoder(strings.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, nil, &fieldError{"args", "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return 0, nil, &fieldError{"args", "invalid JSON: extra data after the value"}
	}
	if ser == "msgpack" {
		b, err := msgpackjson.Marshal(v)
		if err != nil {
			return 0, nil, &fieldError{"args", err.Error()}
		}
		return protocol.MsgPack, b, nil
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, []byte(args))
	return protocol.JSON, buf.Bytes(), nil
}

// decodeReply renders a reply payload for the page.
func decodeReply(st protocol.SerializeType, payload []byte, r *callResult) {
	switch st {
	case protocol.JSON:
		if json.Valid(payload) {
			r.Reply = payload
			return
		}
	case protocol.MsgPack:
		var v any
		if msgpack.Unmarshal(payload, &v) == nil {
			if b, err := json.Marshal(v); err == nil {
				r.Reply = b
				return
			}
		}
	}
	r.ReplyText = string(payload)
}

// call makes one call for the form.
func (c *callers) call(ctx context.Context, req callRequest) (callResult, error) {
	st, payload, err := encodeArgs(req.Args, req.Serialize)
	if err != nil {
		return callResult{}, err
	}
	timeout := c.timeout
	if req.TimeoutMs < 0 || req.TimeoutMs > 600_000 {
		return callResult{}, &fieldError{"timeoutMs", "timeout must be between 0 and 600000 ms"}
	} else if req.TimeoutMs > 0 {
		timeout = time.Duration(req.TimeoutMs) * time.Millisecond
	}
	m := protocol.NewMessage()
	m.SetSerializeType(st)
	m.ServicePath, m.ServiceMethod, m.Payload = req.Service, req.Method, payload
	if len(req.Metadata) > 0 {
		m.Metadata = req.Metadata
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resMeta := map[string]string{}
	ctx = context.WithValue(ctx, share.ResMetaDataKey, resMeta)
	start := time.Now()
	headers, reply, err := c.send(ctx, req.Server, m)
	res := callResult{Metadata: resMeta, Headers: headers, DurationMs: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		code := share.CodeOf(err)
		res.Error, res.Code, res.CodeName = err.Error(), int(code), code.String()
		return res, nil
	}
	decodeReply(st, reply, &res)
	return res, nil
}

func sortServices(list []registryadmin.Service) {
	slices.SortFunc(list, func(a, b registryadmin.Service) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range list {
		slices.SortFunc(s.Servers, func(a, b registryadmin.Server) int { return strings.Compare(a.Key, b.Key) })
	}
}
