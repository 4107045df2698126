package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// ErrBadJSONRPCVersion is returned by VersionTag.UnmarshalJSON for a
// "jsonrpc" member that is not "2.0".
var ErrBadJSONRPCVersion = errors.New(`server: jsonrpc member must be "2.0"`)

// ID is the id of a JSON-RPC 2.0 request: a string (Name) or a number
// (Number). A request without id is a notification and gets no answer.
type ID struct {
	// Name is the id when it is a string ("" for numeric ids).
	Name string
	// Number is the id when it is a number.
	Number int64
	// isString tells the string id "" from the number 0.
	isString bool
}

// MarshalJSON encodes the id as a JSON string or number.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.isString || id.Name != "" {
		return json.Marshal(id.Name)
	}
	return strconv.AppendInt(nil, id.Number, 10), nil
}

// UnmarshalJSON decodes a JSON string or integer id.
func (id *ID) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*id = ID{Name: s, isString: true}
		return nil
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return errors.New("server: jsonrpc id must be a string or an integer")
	}
	*id = ID{Number: n}
	return nil
}

// String returns the id as text (a quoted string or a number).
func (id ID) String() string {
	if id.isString || id.Name != "" {
		return strconv.Quote(id.Name)
	}
	return strconv.FormatInt(id.Number, 10)
}

// JSONRPCError is the error member of a JSON-RPC 2.0 response.
type JSONRPCError struct {
	Code    int64            `json:"code"`
	Message string           `json:"message"`
	Data    *json.RawMessage `json:"data"`
}

// JSONRPCError returns the message (rpcx's method name).
func (e *JSONRPCError) JSONRPCError() string { return e.Message }

// Error describes the error with its code.
func (e *JSONRPCError) Error() string {
	return "jsonrpc error " + strconv.FormatInt(e.Code, 10) + ": " + e.Message
}

// VersionTag is the "jsonrpc" member of requests and responses; it
// encodes as "2.0" and refuses anything else.
type VersionTag struct{}

// MarshalJSON encodes "2.0".
func (VersionTag) MarshalJSON() ([]byte, error) { return []byte(`"2.0"`), nil }

// UnmarshalJSON accepts only "2.0" (ErrBadJSONRPCVersion otherwise).
func (VersionTag) UnmarshalJSON(data []byte) error {
	var v string
	if err := json.Unmarshal(data, &v); err != nil || v != "2.0" {
		return ErrBadJSONRPCVersion
	}
	return nil
}

// jsonrpcRequest is one JSON-RPC 2.0 request object, members undecoded
// (an absent id is empty, a null id is "null").
type jsonrpcRequest struct {
	Version json.RawMessage `json:"jsonrpc"`
	Method  json.RawMessage `json:"method"`
	Params  json.RawMessage `json:"params"`
	ID      json.RawMessage `json:"id"`
}

// jsonrpcResponse is one JSON-RPC 2.0 response object.
type jsonrpcResponse struct {
	Version VersionTag       `json:"jsonrpc"`
	ID      *ID              `json:"id"`
	Result  *json.RawMessage `json:"result,omitempty"`
	Error   *JSONRPCError    `json:"error,omitempty"`
}
