package cross

import (
	"encoding/json"
	"testing"
)

// bigInt is above 2^53: a float64 cannot hold it exactly.
const bigInt = int64(1152921504606846977)

// TestJSONNumbersInInterfaceValues: with JSON, rpcx decodes numbers inside
// interface{} values as json.Number, exact for every int64. A handler
// taking map[string]any and a caller decoding into one must see the same
// on courier.
func TestJSONNumbersInInterfaceValues(t *testing.T) {
	t.Run("rpcx-client", func(t *testing.T) {
		forEachServer(t, serverConfig{}, func(t *testing.T, srv *testServer) {
			xc := newRpcxXClient(t, "Arith", srv.addr(), rpcxOption(stJSON, false))
			in := map[string]any{"n": bigInt}
			var out map[string]any
			if err := xc.Call(ctxTimeout(t), "EchoAny", &in, &out); err != nil {
				t.Fatalf("EchoAny: %v", err)
			}
			checkBigNumber(t, out)
		})
	})
	t.Run("courier-client", func(t *testing.T) {
		srv := startRpcxServer(t, serverConfig{})
		cl := newCourierClient(t, srv.addr(), courierOption(stJSON, false))
		in := map[string]any{"n": bigInt}
		var out map[string]any
		if err := cl.Call(ctxTimeout(t), "Arith", "EchoAny", &in, &out); err != nil {
			t.Fatalf("EchoAny: %v", err)
		}
		checkBigNumber(t, out)
	})
}

func checkBigNumber(t *testing.T, out map[string]any) {
	t.Helper()
	n, ok := out["n"].(json.Number)
	if !ok {
		t.Fatalf("reply n is %T %v, want json.Number", out["n"], out["n"])
	}
	if v, err := n.Int64(); err != nil || v != bigInt {
		t.Fatalf("reply n = %s, want %d", n, bigInt)
	}
}
