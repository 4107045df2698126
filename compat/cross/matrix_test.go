package cross

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// callFn calls Arith.method through one client, whatever its kind.
type callFn func(ctx context.Context, method string, args, reply any) error

// Serialize types, as numbers both protocol packages agree on.
const (
	stNone     byte = 0
	stJSON     byte = 1
	stProtobuf byte = 2
	stMsgPack  byte = 3
)

// serCase is one serialize type with a small typed call and a large echo
// (over rpcx's 1 KiB compression threshold).
type serCase struct {
	name  string
	st    byte
	small func(ctx context.Context, call callFn) error
	large func(ctx context.Context, call callFn) error
	// largeMethod is the method the large echo calls.
	largeMethod string
}

// largeText is 6 KiB of compressible, non-trivial text.
var largeText = strings.Repeat("courier speaks rpcx: ünïcode ✓ 0123456789\n", 140)

func serCases() []serCase {
	mul := func(ctx context.Context, call callFn) error {
		var r testsvc.Reply
		if err := call(ctx, "Mul", &testsvc.Args{A: 7, B: 8}, &r); err != nil {
			return err
		}
		if r.C != 56 {
			return fmt.Errorf("Mul(7, 8) = %d, want 56", r.C)
		}
		return nil
	}
	blob := func(ctx context.Context, call callFn) error {
		var r testsvc.Blob
		if err := call(ctx, "EchoBlob", &testsvc.Blob{Data: largeText}, &r); err != nil {
			return err
		}
		if r.Data != largeText || r.N != len(largeText) {
			return fmt.Errorf("EchoBlob returned %d bytes, N=%d; want %d", len(r.Data), r.N, len(largeText))
		}
		return nil
	}
	return []serCase{
		{
			name: "SerializeNone", st: stNone, largeMethod: "Echo",
			small: func(ctx context.Context, call callFn) error {
				in := []byte{0, 1, 2, 0xfe, 0xff}
				var out []byte
				if err := call(ctx, "Echo", &in, &out); err != nil {
					return err
				}
				if !bytes.Equal(out, in) {
					return fmt.Errorf("Echo returned %x, want %x", out, in)
				}
				return nil
			},
			large: func(ctx context.Context, call callFn) error {
				in := []byte(largeText)
				var out []byte
				if err := call(ctx, "Echo", &in, &out); err != nil {
					return err
				}
				if !bytes.Equal(out, in) {
					return fmt.Errorf("Echo returned %d bytes, want %d", len(out), len(in))
				}
				return nil
			},
		},
		{name: "JSON", st: stJSON, small: mul, large: blob, largeMethod: "EchoBlob"},
		{
			name: "ProtoBuffer", st: stProtobuf, largeMethod: "EchoPB",
			small: func(ctx context.Context, call callFn) error {
				var r testsvc.PBReply
				if err := call(ctx, "MulPB", &testsvc.PBArgs{A: -7, B: 1 << 33}, &r); err != nil {
					return err
				}
				if r.C != -7<<33 {
					return fmt.Errorf("MulPB = %d, want %d", r.C, int64(-7)<<33)
				}
				var s wrapperspb.StringValue
				if err := call(ctx, "EchoPB", wrapperspb.String("héllo"), &s); err != nil {
					return err
				}
				if s.GetValue() != "héllo" {
					return fmt.Errorf("EchoPB = %q", s.GetValue())
				}
				return nil
			},
			large: func(ctx context.Context, call callFn) error {
				var s wrapperspb.StringValue
				if err := call(ctx, "EchoPB", wrapperspb.String(largeText), &s); err != nil {
					return err
				}
				if s.GetValue() != largeText {
					return fmt.Errorf("EchoPB returned %d bytes, want %d", len(s.GetValue()), len(largeText))
				}
				return nil
			},
		},
		{name: "MsgPack", st: stMsgPack, small: mul, large: blob, largeMethod: "EchoBlob"},
	}
}

// runSerCase runs c's calls through call and checks the frames the tap
// recorded: serialize type on every request and response, and, when gzip
// is on, compressed request and response for the large echo.
func runSerCase(t *testing.T, c serCase, gzip bool, call callFn, tap *testsvc.Tap) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.small(ctx, call); err != nil {
		t.Fatalf("small call: %v", err)
	}
	if err := c.large(ctx, call); err != nil {
		t.Fatalf("large call: %v", err)
	}
	req, res := lastExchange(t, tap, c.largeMethod)
	for _, f := range []testsvc.Frame{req, res} {
		if f.SerializeType() != c.st {
			t.Errorf("frame seq %d has serialize type %d, want %d", f.Seq(), f.SerializeType(), c.st)
		}
	}
	wantCT := byte(0)
	if gzip {
		wantCT = 1
	}
	if req.CompressType() != wantCT {
		t.Errorf("large request compress type %d, want %d", req.CompressType(), wantCT)
	}
	if res.CompressType() != wantCT {
		t.Errorf("large response compress type %d, want %d (the server answers with the request's)", res.CompressType(), wantCT)
	}
	if len(req.Bytes) > len(largeText) == gzip {
		t.Errorf("large request frame is %d bytes for %d bytes of text (gzip %v)", len(req.Bytes), len(largeText), gzip)
	}
}

// lastExchange returns the last request for method and its response.
func lastExchange(t *testing.T, tap *testsvc.Tap, method string) (req, res testsvc.Frame) {
	t.Helper()
	reqs, err := testsvc.Frames(tap.ClientBytes())
	if err != nil {
		t.Fatalf("client stream: %v", err)
	}
	found := false
	for _, f := range reqs {
		if _, m := f.Method(); m == method && !f.IsResponse() && !f.IsHeartbeat() {
			req, found = f, true
		}
	}
	if !found {
		t.Fatalf("no request frame for %s on the wire", method)
	}
	// The response may still be in flight through the tap: poll briefly.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ress, _ := testsvc.Frames(tap.ServerBytes())
		for _, f := range ress {
			if f.IsResponse() && f.Seq() == req.Seq() {
				return req, f
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no response frame for seq %d (%s)", req.Seq(), method)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitUntil polls cond every 5ms until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
