package share

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
)

func TestWireKeys(t *testing.T) {
	// These strings are on the wire (rpcx's and courier's): pin them.
	tests := map[string]string{
		AuthKey: "__AUTH", ServerTimeout: "__ServerTimeout", ServerAddress: "__ServerAddress",
		DeadlineKey: "__courier_deadline", ErrorCodeKey: "__courier_code", DrainKey: "__courier_drain",
		TraceParentKey: "traceparent", TraceStateKey: "tracestate", DefaultRPCPath: "/_rpcx_",
		SendFileServiceName: "_filetransfer", StreamServiceName: "_streamservice",
		string(ReqMetaDataKey): "__req_metadata", string(ResMetaDataKey): "__res_metadata",
	}
	for got, want := range tests {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	if DrainSeq != 1<<64-1 {
		t.Errorf("DrainSeq = %d", DrainSeq)
	}
}

func TestDefaultCodecs(t *testing.T) {
	table := NewCodecTable()
	want := map[protocol.SerializeType]codec.Codec{
		protocol.SerializeNone: &codec.ByteCodec{}, protocol.JSON: &codec.JSONCodec{},
		protocol.ProtoBuffer: &codec.PBCodec{}, protocol.MsgPack: &codec.MsgpackCodec{}, protocol.Thrift: &codec.ThriftCodec{},
	}
	for st, c := range want {
		if reflect.TypeOf(table.Get(st)) != reflect.TypeOf(c) {
			t.Errorf("codec of %v = %T, want %T", st, table.Get(st), c)
		}
	}
	for _, st := range []protocol.SerializeType{5, 15, 16, 255} {
		if table.Get(st) != nil {
			t.Errorf("codec of %d = %T, want nil", st, table.Get(st))
		}
	}
}

type nopCodec struct{ id int }

func (nopCodec) Encode(any) ([]byte, error) { return nil, nil }
func (nopCodec) Decode([]byte, any) error   { return nil }

func TestRegisterCodecConcurrent(t *testing.T) {
	t.Cleanup(func() {
		codecsMu.Lock()
		for st := protocol.SerializeType(5); st < 16; st++ {
			delete(Codecs, st)
		}
		codecsMu.Unlock()
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				RegisterCodec(protocol.SerializeType(5+(i+j)%11), nopCodec{i})
				_ = NewCodecTable().Get(protocol.SerializeType(5 + j%11))
			}
		})
	}
	wg.Wait()
	table := NewCodecTable()
	for st := protocol.SerializeType(5); st < 16; st++ {
		if _, ok := table.Get(st).(nopCodec); !ok {
			t.Errorf("type %d: %T", st, table.Get(st))
		}
	}
	// Serialize types beyond the 4-bit nibble are ignored by tables.
	RegisterCodec(200, nopCodec{})
	t.Cleanup(func() { codecsMu.Lock(); delete(Codecs, 200); codecsMu.Unlock() })
	if NewCodecTable().Get(200) != nil {
		t.Error("table returned a codec for type 200")
	}
}

type ctxKey string

func TestContextValues(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey("p"), "parent")
	c := NewContext(parent)
	if !IsShareContext(c) || IsShareContext(parent) {
		t.Fatal("IsShareContext")
	}
	if c.Value(ctxKey("p")) != "parent" {
		t.Fatal("parent value not visible")
	}
	c.SetValue(ctxKey("p"), "local")
	if c.Value(ctxKey("p")) != "local" {
		t.Fatal("local value does not shadow the parent's")
	}
	c.DeleteKey(ctxKey("p"))
	if c.Value(ctxKey("p")) != "parent" {
		t.Fatal("DeleteKey did not uncover the parent value")
	}
	w := WithValue(parent, ctxKey("k"), 1)
	if w.Value(ctxKey("k")) != 1 || w.Value(ctxKey("p")) != "parent" {
		t.Fatal("WithValue")
	}
	if WithLocalValue(w, ctxKey("k"), 2) != w || w.Value(ctxKey("k")) != 2 {
		t.Fatal("WithLocalValue")
	}
	if !strings.Contains(w.String(), "WithValue") {
		t.Fatalf("String = %q", w.String())
	}
	w.Lock()
	w.Unlock()

	// Cancellation and deadlines come from the wrapped context.
	cctx, cancel := context.WithCancel(context.Background())
	sc := NewContext(cctx)
	cancel()
	<-sc.Done()
	if sc.Err() != context.Canceled {
		t.Fatalf("Err = %v", sc.Err())
	}
	// rpcx usage: metadata maps under the share keys.
	md := map[string]string{"a": "1"}
	if WithValue(context.Background(), ReqMetaDataKey, md).Value(ReqMetaDataKey).(map[string]string)["a"] != "1" {
		t.Fatal("ReqMetaDataKey lookup")
	}
}

func TestContextConcurrent(t *testing.T) {
	c := NewContext(context.Background())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				k := ctxKey(fmt.Sprint(i, "-", j%10))
				c.SetValue(k, j)
				_ = c.Value(k)
				if j%3 == 0 {
					c.DeleteKey(k)
				}
				_ = c.String()
				c.Lock()
				c.Unlock()
			}
		})
	}
	wg.Wait()
	c.SetValue(ctxKey("final"), 1)
	if c.Value(ctxKey("final")) != 1 {
		t.Fatal("value lost")
	}
}

func TestArgsClone(t *testing.T) {
	ft := FileTransferArgs{FileName: "f", FileSize: 3, Meta: map[string]string{"k": "v"}}
	c := ft.Clone()
	c.Meta["k"] = "changed"
	c.FileName = "g"
	if ft.Meta["k"] != "v" || ft.FileName != "f" || c.FileSize != 3 {
		t.Fatalf("FileTransferArgs.Clone aliases: %+v", ft)
	}
	if (FileTransferArgs{}).Clone().Meta != nil {
		t.Fatal("nil Meta cloned to non-nil")
	}
	dl := DownloadFileArgs{FileName: "d", Meta: map[string]string{"k": "v"}}
	dc := dl.Clone()
	dc.Meta["k"] = "changed"
	if dl.Meta["k"] != "v" || dc.FileName != "d" {
		t.Fatalf("DownloadFileArgs.Clone aliases: %+v", dl)
	}
	if (DownloadFileArgs{}).Clone().Meta != nil {
		t.Fatal("nil Meta cloned to non-nil")
	}
}
