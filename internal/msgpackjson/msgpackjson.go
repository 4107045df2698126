// Package msgpackjson turns JSON text typed by people (in the CLI and the
// dashboard) into msgpack payloads, keeping integers integers.
package msgpackjson

import (
	"encoding/json"

	"github.com/vmihailenco/msgpack/v5"
)

// Marshal encodes v, a value decoded from JSON with json.Decoder.UseNumber,
// as msgpack: a json.Number that is an integer becomes an int64, any other
// a float64, in v itself and in the maps and slices it holds (which it
// changes in place). Errors are msgpack's.
func Marshal(v any) ([]byte, error) { return msgpack.Marshal(numbers(v)) }

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
