package server

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func batchOf(n int) []byte {
	entry := `{"jsonrpc":"2.0","id":1,"method":"Arith.Mul","params":{"A":6,"B":7}}`
	return []byte("[" + strings.TrimSuffix(strings.Repeat(entry+", ", n), ", ") + "]")
}

func TestSplitBatch(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		n       int
		wantErr error // nil, errBatchSize, or any syntax error (errSyntax)
	}{
		{"one", `[{"a":1}]`, 1, nil},
		{"spaces and nesting", " [ {\"a\":[1,2]} ,\n\"x\", 3 ] \n", 3, nil},
		{"empty", `[]`, 0, errBatchSize},
		{"at the cap", string(batchOf(MaxJSONRPCBatch)), MaxJSONRPCBatch, nil},
		{"over the cap", string(batchOf(MaxJSONRPCBatch + 1)), 0, errBatchSize},
		{"over the cap, broken later", string(batchOf(MaxJSONRPCBatch+1)) + "garbage", 0, errBatchSize},
		{"broken entry", `[{"a":1}, {bad}]`, 0, errSyntax},
		{"unterminated", `[{"a":1}`, 0, errSyntax},
		{"trailing garbage", `[{"a":1}] x`, 0, errSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raws, err := splitBatch([]byte(tt.body))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr == errBatchSize && !errors.Is(err, errBatchSize):
				t.Fatalf("error %v, want errBatchSize", err)
			case tt.wantErr == errSyntax && (err == nil || errors.Is(err, errBatchSize)):
				t.Fatalf("error %v, want a syntax error", err)
			case tt.wantErr == nil && len(raws) != tt.n:
				t.Fatalf("%d entries, want %d", len(raws), tt.n)
			}
		})
	}
	raws, _ := splitBatch([]byte(" [ {\"a\":[1,2]} ,\n\"x\", 3 ] "))
	if string(raws[0]) != `{"a":[1,2]}` || string(raws[1]) != `"x"` || string(raws[2]) != "3" {
		t.Fatalf("entries %q", raws)
	}
}

var errSyntax = errors.New("syntax")

// A batch far over the cap is refused once the cap is passed: parsing it
// allocates a small fraction of its size, not a copy of every entry.
func TestSplitBatchHugeIsCheap(t *testing.T) {
	body := batchOf(200_000) // about 14 MB
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := splitBatch(body); !errors.Is(err, errBatchSize) {
		t.Fatalf("error %v, want errBatchSize", err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > uint64(len(body))/20 {
		t.Fatalf("parsing a %d-byte batch allocated %d bytes", len(body), got)
	}
}
