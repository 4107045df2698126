package client

import (
	"context"
	"testing"
	"time"

	"github.com/courier-rpc/courier/share"
)

func TestApplyCallOptions(t *testing.T) {
	base := map[string]string{"a": "1", "b": "1"}
	ctx := context.WithValue(t.Context(), share.ReqMetaDataKey, base)
	res := map[string]string{}
	got, cancel := ApplyCallOptions(ctx, WithCallMetadata(map[string]string{"b": "2"}), nil,
		WithCallMetadata(map[string]string{"c": "3"}), WithResponseMetadata(res), WithCallTimeout(time.Minute))
	defer cancel()
	md := got.Value(share.ReqMetaDataKey).(map[string]string)
	if len(md) != 3 || md["a"] != "1" || md["b"] != "2" || md["c"] != "3" {
		t.Fatalf("metadata %v", md)
	}
	if base["b"] != "1" || len(base) != 2 {
		t.Fatalf("the caller's map changed: %v", base)
	}
	if m, _ := got.Value(share.ResMetaDataKey).(map[string]string); m == nil {
		t.Fatal("no response metadata map")
	}
	if dl, ok := got.Deadline(); !ok || time.Until(dl) > time.Minute {
		t.Fatalf("deadline %v %v", dl, ok)
	}
	plain, cancel2 := ApplyCallOptions(ctx)
	defer cancel2()
	if plain != ctx {
		t.Fatal("no options should return ctx itself")
	}
	_, cancel3 := ApplyCallOptions(ctx, WithCallTimeout(0))
	cancel3()
}
