package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// callHooks is a PreCall/PostCall plugin whose behaviour a test picks per
// request through metadata "pre" and "post".
type callHooks struct{}

func (callHooks) PreCall(ctx context.Context, _, _ string, args interface{}) (interface{}, error) {
	switch ctx.Value(share.ReqMetaDataKey).(map[string]string)["pre"] {
	case "double":
		a := args.(*Args)
		return &Args{A: 2 * a.A, B: a.B}, nil
	case "wrong":
		return "not args", nil
	case "fail":
		return nil, errors.New("pre refused")
	}
	return args, nil
}

func (callHooks) PostCall(ctx context.Context, _, _ string, _, reply interface{}, err error) (interface{}, error) {
	switch ctx.Value(share.ReqMetaDataKey).(map[string]string)["post"] {
	case "replace":
		return &Reply{C: -1}, nil
	case "fail":
		return reply, errors.New("post refused")
	}
	return reply, err
}

// Methods found by reflection (by pointer and by value) and typed handlers
// run the same invoke sequence: decode, PreCall, call, PostCall, encode.
func TestInvokeSequence(t *testing.T) {
	s := NewServer()
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	if err := Handle(s, "Typed", "Mul", func(_ context.Context, a *Args, r *Reply) error {
		r.C = a.A * a.B
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterFunctionName("Fn", "Mul", func(_ context.Context, a *Args, r *Reply) error {
		r.C = a.A * a.B
		return nil
	}, ""); err != nil {
		t.Fatal(err)
	}
	s.Plugins.Add(callHooks{})
	c := dialRaw(t, testServer(t, s))
	cases := []struct {
		pre, post, payload string
		want               string // reply payload, or "error: " + a part of the error text
	}{
		{"", "", `{"A":3,"B":4}`, `{"C":12}`},
		{"double", "", `{"A":3,"B":4}`, `{"C":24}`},
		{"wrong", "", `{"A":3,"B":4}`, "error: server: PreCall returned args of type string, want *server.Args"},
		{"fail", "", `{"A":3,"B":4}`, "error: pre refused"},
		{"", "replace", `{"A":3,"B":4}`, `{"C":-1}`},
		{"", "fail", `{"A":3,"B":4}`, "error: post refused"},
		{"", "", `{"A":`, "error: "},
	}
	for _, m := range [][2]string{{"Arith", "Mul"}, {"Arith", "Add"}, {"Typed", "Mul"}, {"Fn", "Mul"}} {
		for _, tc := range cases {
			md := map[string]string{"pre": tc.pre, "post": tc.post}
			res := c.call(newReq(m[0], m[1], protocol.JSON, []byte(tc.payload), md))
			got := string(res.Payload)
			if res.MessageStatusType() == protocol.Error {
				got = "error: " + errText(res)
			}
			want := tc.want
			if m[1] == "Add" && tc.pre == "" && tc.post == "" && strings.HasPrefix(want, "{") {
				want = `{"C":7}`
			}
			if m[1] == "Add" && tc.pre == "double" {
				want = `{"C":10}`
			}
			if got != want && !(strings.HasPrefix(want, "error: ") && strings.HasPrefix(got, want)) {
				t.Errorf("%s.%s pre=%q post=%q: got %q, want %q", m[0], m[1], tc.pre, tc.post, got, want)
			}
		}
	}
}
