// Package testsvc holds what both sides of the compatibility tests share:
// the Arith service registered on rpcx and courier servers alike, the
// protobuf argument types, a recording TCP proxy and a goroutine leak check.
package testsvc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	cshare "github.com/courier-rpc/courier/share"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Args are the arguments of the JSON and MessagePack methods.
type Args struct {
	A int `json:"A" msgpack:"A"`
	B int `json:"B" msgpack:"B"`
}

// Reply is the reply of the JSON and MessagePack methods.
type Reply struct {
	C int `json:"C" msgpack:"C"`
}

// FailText is the error text returned by Arith.Fail: punctuation and
// non-ASCII text must arrive intact.
const FailText = "failure: ünïcödé «text» with : and \"quotes\""

// CodedText is the error text returned by Arith.FailCoded, whose code is
// cshare.CodeNotFound.
const CodedText = "thing not found"

// MetaFunc extracts the request and response metadata maps from a handler
// context. rpcx and courier use distinct context key types, so each server
// gets its own.
type MetaFunc func(ctx context.Context) (req, res map[string]string)

// RpcxMeta returns the MetaFunc of a server whose context keys are reqKey
// and resKey (rpcx's share.ReqMetaDataKey / share.ResMetaDataKey).
func RpcxMeta(reqKey, resKey any) MetaFunc {
	return func(ctx context.Context) (map[string]string, map[string]string) {
		req, _ := ctx.Value(reqKey).(map[string]string)
		res, _ := ctx.Value(resKey).(map[string]string)
		return req, res
	}
}

// CourierMeta is the MetaFunc of a courier server.
func CourierMeta(ctx context.Context) (map[string]string, map[string]string) {
	return RpcxMeta(cshare.ReqMetaDataKey, cshare.ResMetaDataKey)(ctx)
}

// Arith is the service both servers register as "Arith". Its methods record
// what they saw so that tests can inspect it. Create it with NewArith; it is
// safe for concurrent use.
type Arith struct {
	meta MetaFunc

	// Notes receives args.A of every Note call (buffered, 16).
	Notes chan int
	// SlowStarted receives once per Slow call when it starts (buffered, 16).
	SlowStarted chan struct{}
	// release is closed by Release to let Slow calls return.
	release     chan struct{}
	releaseOnce sync.Once

	mu       sync.Mutex
	lastMeta map[string]string
}

// NewArith returns an Arith that reads metadata with meta.
func NewArith(meta MetaFunc) *Arith {
	return &Arith{
		meta:        meta,
		Notes:       make(chan int, 16),
		SlowStarted: make(chan struct{}, 16),
		release:     make(chan struct{}),
	}
}

// Release lets every pending and future Slow call return.
func (a *Arith) Release() { a.releaseOnce.Do(func() { close(a.release) }) }

// LastMeta returns a copy of the request metadata of the last Meta call.
func (a *Arith) LastMeta() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.lastMeta)
}

// Mul sets reply.C = A * B.
func (a *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

// MulPB is Mul over protobuf messages.
func (a *Arith) MulPB(ctx context.Context, args *PBArgs, reply *PBReply) error {
	reply.C = args.A * args.B
	return nil
}

// Echo copies the raw request bytes into the reply.
func (a *Arith) Echo(ctx context.Context, args *[]byte, reply *[]byte) error {
	*reply = append([]byte(nil), *args...)
	return nil
}

// EchoPB echoes a generated protobuf message (wrapperspb.StringValue).
func (a *Arith) EchoPB(ctx context.Context, args *wrapperspb.StringValue, reply *wrapperspb.StringValue) error {
	reply.Value = args.GetValue()
	return nil
}

// Meta records the request metadata, copies every entry into the response
// metadata under the prefix "re-", and sets reply.C to the number of
// entries that do not start with "__".
func (a *Arith) Meta(ctx context.Context, args *Args, reply *Reply) error {
	req, res := a.meta(ctx)
	if res == nil {
		return errors.New("no response metadata map in the handler context")
	}
	a.mu.Lock()
	a.lastMeta = maps.Clone(req)
	a.mu.Unlock()
	n := 0
	for k, v := range req {
		res["re-"+k] = v
		if len(k) < 2 || k[:2] != "__" {
			n++
		}
	}
	reply.C = n
	return nil
}

// Fail returns an error whose text is FailText.
func (a *Arith) Fail(ctx context.Context, args *Args, reply *Reply) error {
	return errors.New(FailText)
}

// FailCoded returns a courier error with code CodeNotFound and text
// CodedText.
func (a *Arith) FailCoded(ctx context.Context, args *Args, reply *Reply) error {
	return cshare.NewError(cshare.CodeNotFound, CodedText)
}

// Note is meant to be called oneway: it sends args.A on Notes.
func (a *Arith) Note(ctx context.Context, args *Args, reply *Reply) error {
	select {
	case a.Notes <- args.A:
		return nil
	default:
		return fmt.Errorf("notes channel full, dropped %d", args.A)
	}
}

// Slow signals SlowStarted, waits for Release (or ctx), and sets
// reply.C = A.
func (a *Arith) Slow(ctx context.Context, args *Args, reply *Reply) error {
	select {
	case a.SlowStarted <- struct{}{}:
	default:
	}
	select {
	case <-a.release:
		reply.C = args.A
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Blob is a JSON/MessagePack argument that can be made large, to exercise
// gzip (rpcx clients compress only payloads over 1 KiB).
type Blob struct {
	Data string `json:"Data" msgpack:"Data"`
	N    int    `json:"N" msgpack:"N"`
}

// EchoBlob copies args into reply and sets reply.N to len(args.Data).
func (a *Arith) EchoBlob(ctx context.Context, args *Blob, reply *Blob) error {
	reply.Data = args.Data
	reply.N = len(args.Data)
	return nil
}

// Deadline sets reply.C to the milliseconds left before the handler ctx's
// deadline, or -1 when it has none.
func (a *Arith) Deadline(ctx context.Context, args *Args, reply *Reply) error {
	dl, ok := ctx.Deadline()
	if !ok {
		reply.C = -1
		return nil
	}
	reply.C = int(time.Until(dl).Milliseconds())
	return nil
}

// EchoAny echoes a generic map. With JSON it shows how the server's codec
// decodes numbers into interface{} values (rpcx keeps them as json.Number,
// exact for any int64).
func (a *Arith) EchoAny(ctx context.Context, args *map[string]any, reply *map[string]any) error {
	*reply = *args
	return nil
}

// Panic panics; a server must turn it into an error response.
func (a *Arith) Panic(ctx context.Context, args *Args, reply *Reply) error {
	panic("arith: panic on purpose")
}
