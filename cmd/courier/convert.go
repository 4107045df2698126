package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// encodeArg turns the JSON argument into the bytes of the serialize type:
// JSON and raw bytes are sent as they are; for msgpack the JSON value is
// re-encoded (integers stay integers). protobuf arguments are binary
// already (--file).
func encodeArg(ser string, payload []byte) ([]byte, error) {
	if ser != "msgpack" {
		return payload, nil
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, usageErr("--ser msgpack takes a JSON argument: %v", err)
	}
	out, err := msgpack.Marshal(numbers(v))
	if err != nil {
		return nil, usageErr("encoding the argument as msgpack: %v", err)
	}
	return out, nil
}

// numbers replaces json.Numbers by int64 or float64 values.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// decodeReply renders a reply for the terminal: JSON indented, msgpack
// converted to indented JSON, other types as they are.
func decodeReply(ser string, reply []byte) []byte {
	var pretty bytes.Buffer
	switch ser {
	case "json":
		if json.Indent(&pretty, reply, "", "  ") == nil {
			return pretty.Bytes()
		}
	case "msgpack":
		var v any
		if msgpack.Unmarshal(reply, &v) != nil {
			return reply
		}
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return []byte(fmt.Sprintf("%v", v))
		}
		return out
	}
	return reply
}
