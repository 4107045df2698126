package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/courier-rpc/courier/internal/msgpackjson"
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
	out, err := msgpackjson.Marshal(v)
	if err != nil {
		return nil, usageErr("encoding the argument as msgpack: %v", err)
	}
	return out, nil
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
