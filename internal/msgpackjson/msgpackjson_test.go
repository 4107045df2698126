package msgpackjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestMarshal(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"a":1,"b":[2.5,-3,{"c":9007199254740993}],"d":"x","e":1e400}`))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := msgpack.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["a"] != int8(1) && got["a"] != int64(1) {
		t.Fatalf("a = %T %v, want an integer 1", got["a"], got["a"])
	}
	list := got["b"].([]any)
	if list[0] != 2.5 || reflect.ValueOf(list[1]).Int() != -3 {
		t.Fatalf("b = %#v", list)
	}
	if c := list[2].(map[string]any)["c"]; reflect.ValueOf(c).Int() != 9007199254740993 {
		t.Fatalf("large integer lost precision: %v", c)
	}
	if got["d"] != "x" {
		t.Fatalf("d = %v", got["d"])
	}
	if f, ok := got["e"].(float64); !ok || f < 1e308 {
		t.Fatalf("e = %T %v, want +Inf as float64", got["e"], got["e"])
	}
}
