package client

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
)

// rpcCall is a call waiting for its response. A synchronous caller (Call,
// SendRaw, heartbeat) takes one from a pool and waits on ready; the reader
// hands it the response message. An asynchronous one (Go) is completed by
// the reader, which decodes the reply and sends Call on Done.
//
// Its size is a multiple of 64 bytes, so that the calls of different
// callers, written by the caller and by the reader on other cores, never
// share a cache line (objects of such a size class start on line
// boundaries; the 224-byte class its fields need alone would not). The
// padding comes first: were the fields ever a multiple of 64 bytes, a
// zero-length last field would itself be padded (as in protocol's
// messageBlock).
type rpcCall struct {
	_ [(64 - unsafe.Sizeof(callFields{})%64) % 64]byte
	callFields
}

// callFields are rpcCall's fields, without its padding.
type callFields struct {
	Call

	seq     uint64
	async   bool
	ready   chan struct{}     // sync: receives exactly one signal per registration
	resp    *protocol.Message // sync: the response, owned by the waiter
	err     error             // sync: failure instead of a response
	resMeta map[string]string // async: the caller's ResMetaDataKey map
	stop    func() bool       // async: stops watching the caller's ctx

	// async, with attempt observers: their ctx and themselves; whoever
	// completes the call (goStart on failure, complete, the ctx watcher)
	// ends the attempt, once.
	actx context.Context
	obs  []AttemptObserverPlugin
}

// endAttempt runs the attempt observers' EndAttempt of an async call.
func (rc *rpcCall) endAttempt(res *protocol.Message, err error) {
	if rc.obs != nil {
		endAttempt(rc.obs, rc.actx, res, err)
		rc.obs, rc.actx = nil, nil
	}
}

// Context keys boxed once: converting share.ReqMetaDataKey (a string type)
// to an interface on every call would allocate.
var (
	reqMetaKey interface{} = share.ReqMetaDataKey
	resMetaKey interface{} = share.ResMetaDataKey
)

var syncCalls = sync.Pool{New: func() any {
	rc := new(rpcCall)
	rc.ready = make(chan struct{}, 1)
	return rc
}}

func getSyncCall() *rpcCall { return syncCalls.Get().(*rpcCall) }

func putSyncCall(rc *rpcCall) {
	rc.resp, rc.err, rc.seq = nil, nil, 0
	syncCalls.Put(rc)
}

// Call invokes servicePath.serviceMethod with args and waits for the reply,
// which is decoded into reply (a pointer). As in rpcx, a nil reply makes the
// call oneway: the request is sent with the oneway bit, the server does not
// answer, and Call returns once the request is queued. With an empty
// servicePath and serviceMethod, Call sends a heartbeat carrying args
// (encoded with MessagePack, as rpcx does) and reply receives the echo.
//
// Request metadata is taken from ctx.Value(share.ReqMetaDataKey) (a
// map[string]string, never modified); response metadata is copied into the
// map at ctx.Value(share.ResMetaDataKey) when there is one. A ctx deadline
// is sent to the server as share.DeadlineKey. When ctx is done first, the
// call is forgotten at once and Call returns ctx.Err(); a late response is
// discarded.
//
// Errors: a ServiceError when the service returned an error (with its code
// between courier peers, see share.CodeOf); an error wrapping ErrDraining
// when the server is shutting down and did not take the call; an error
// wrapping ErrShutdown when the connection is or gets closed;
// ErrUnsupportedCodec or an encoding error for bad arguments.
func (client *Client) Call(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}) error {
	if !client.trace {
		return client.call(ctx, servicePath, serviceMethod, args, reply)
	}
	log.Infof("client: call %s.%s to %s", servicePath, serviceMethod, client.RemoteAddr())
	err := client.call(ctx, servicePath, serviceMethod, args, reply)
	log.Infof("client: call %s.%s to %s returned: %v", servicePath, serviceMethod, client.RemoteAddr(), err)
	return err
}

// call is Call without trace logging.
func (client *Client) call(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}) error {
	if client.draining.Load() {
		return ErrDraining
	}
	m, err := client.newRequest(ctx, servicePath, serviceMethod, args)
	if err != nil {
		return err
	}
	actx, obs := client.startAttempt(ctx, m) // obs nil: no observers
	if reply == nil {                        // rpcx: a call without a reply is oneway
		m.SetOneway(true)
		err = client.transmit(nil, m)
		protocol.FreeMsg(m)
		endAttempt(obs, actx, nil, err)
		return err
	}
	rc := getSyncCall()
	err = client.transmit(rc, m)
	protocol.FreeMsg(m)
	if err != nil {
		putSyncCall(rc)
		endAttempt(obs, actx, nil, err)
		return err
	}
	// wait's body, here: a caller waits for its reply one frame less deep
	// (wait is too large to be inlined).
	if done := ctx.Done(); done != nil {
		select {
		case <-rc.ready:
		case <-done:
			err = client.abandon(ctx, rc)
			endAttempt(obs, actx, nil, err)
			return err
		}
	} else {
		<-rc.ready
	}
	res, err := client.received(rc)
	if err != nil {
		endAttempt(obs, actx, nil, err)
		return err
	}
	err = client.decodeReply(res, reply)
	if dst, ok := ctx.Value(resMetaKey).(map[string]string); ok {
		client.copyResMeta(dst, res.Metadata)
	}
	endAttempt(obs, actx, res, err)
	protocol.FreeMsg(res)
	return err
}

// Go invokes servicePath.serviceMethod asynchronously and returns the Call
// at once. When the call completes (see Call for the errors), Call.Error
// and Call.ResMetadata are set and the Call is sent on done. A nil done gets
// a new channel with a buffer of 10; a Call that cannot be sent because done
// is full is dropped with a warning. An unbuffered done is refused: the Call
// has an error and is sent on done from a new goroutine. Cancelling ctx
// completes the call with ctx.Err().
func (client *Client) Go(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, done chan *Call) *Call {
	if client.trace {
		log.Infof("client: go %s.%s to %s", servicePath, serviceMethod, client.RemoteAddr())
	}
	rc := new(rpcCall)
	rc.async = true
	call := &rc.Call
	call.ServicePath, call.ServiceMethod = servicePath, serviceMethod
	call.Args, call.Reply = args, reply
	switch {
	case done == nil:
		done = make(chan *Call, 10)
	case cap(done) == 0:
		call.Done = done
		call.Error = ErrUnbufferedDone
		go func() { done <- call }()
		return call
	}
	call.Done = done
	if err := client.goStart(ctx, rc); err != nil {
		call.Error = err
		deliver(call)
	}
	return call
}

func (client *Client) goStart(ctx context.Context, rc *rpcCall) error {
	if client.draining.Load() {
		return ErrDraining
	}
	m, err := client.newRequest(ctx, rc.ServicePath, rc.ServiceMethod, rc.Args)
	if err != nil {
		return err
	}
	rc.Metadata = sentMetadata(m)
	rc.actx, rc.obs = client.startAttempt(ctx, m) // obs nil: no observers
	// rpcx: a call without a reply is oneway, done once queued.
	if rc.Reply == nil {
		m.SetOneway(true)
		err = client.transmit(nil, m)
		protocol.FreeMsg(m)
		rc.endAttempt(nil, err)
		if err == nil {
			deliver(&rc.Call)
		}
		return err
	}
	rc.resMeta, _ = ctx.Value(resMetaKey).(map[string]string)
	err = client.transmit(rc, m)
	protocol.FreeMsg(m)
	if err != nil {
		rc.endAttempt(nil, err)
		return err
	}
	if ctx.Done() == nil {
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		if client.unregister(rc) {
			rc.Error = ctx.Err()
			rc.endAttempt(nil, rc.Error)
			deliver(&rc.Call)
		}
	})
	client.mu.Lock()
	if client.pending[rc.seq] == rc {
		rc.stop = stop
		client.mu.Unlock()
	} else {
		client.mu.Unlock()
		stop()
	}
	return nil
}

// deliver sends a completed call on its Done channel without blocking.
func deliver(call *Call) {
	select {
	case call.Done <- call:
	default:
		log.Warnf("client: dropped the result of %s.%s: done channel is full", call.ServicePath, call.ServiceMethod)
	}
}

// SendRaw sends r as it is (header, path, method, metadata and payload are
// the caller's; the message ID is assigned here and r is not modified) and
// returns the response as a header map (X-RPCX-* keys, see XMeta) and its
// payload. Metadata in ctx.Value(share.ReqMetaDataKey) replaces r.Metadata.
// A oneway r returns nil, nil, nil once the frame is queued. An error
// response returns the header map (with XErrorMessage) and the service
// error. Other errors are those of Call.
func (client *Client) SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error) {
	res, err := client.SendRawMessage(ctx, r)
	if res == nil {
		return nil, nil, err
	}
	headers := rawHeaders(res)
	payload := append([]byte(nil), res.Payload...)
	if err != nil {
		headers[XErrorMessage] = err.Error()
	}
	protocol.FreeMsg(res)
	return headers, payload, err
}

// SendRawMessage is SendRaw without the header map and the payload copy:
// it returns the response message itself, which the caller owns and may
// give back with protocol.FreeMsg once done with it (its Payload and
// Metadata go with it). An error response returns the message and the
// service error; a oneway r returns nil, nil once the frame is queued;
// other errors return a nil message. Proxies, gateways and load
// generators use it to pass responses on without rebuilding them.
func (client *Client) SendRawMessage(ctx context.Context, r *protocol.Message) (*protocol.Message, error) {
	if client.draining.Load() {
		return nil, ErrDraining
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r == nil || r.Header == nil {
		return nil, fmt.Errorf("client: send raw: message without header")
	}
	m := protocol.GetPooledMsg()
	if err := setRequestMetadata(ctx, m, r.Metadata); err != nil {
		protocol.FreeMsg(m)
		return nil, err
	}
	*m.Header = *r.Header
	m.ServicePath, m.ServiceMethod, m.Payload = r.ServicePath, r.ServiceMethod, r.Payload
	actx, obs := client.startAttempt(ctx, m) // obs nil: no observers
	var rc *rpcCall                          // nil: oneway
	if !r.IsOneway() {
		rc = getSyncCall()
	}
	err := client.transmit(rc, m)
	protocol.FreeMsg(m)
	if rc == nil || err != nil {
		if rc != nil {
			putSyncCall(rc)
		}
		endAttempt(obs, actx, nil, err)
		return nil, err
	}
	res, err := client.wait(ctx, rc)
	if err != nil {
		endAttempt(obs, actx, nil, err)
		return nil, err
	}
	if dst, ok := ctx.Value(resMetaKey).(map[string]string); ok {
		client.copyResMeta(dst, res.Metadata)
	}
	if res.MessageStatusType() == protocol.Error {
		err = serviceErrorOf(res, client.errFunc)
	}
	endAttempt(obs, actx, res, err)
	return res, err
}

// newRequest encodes args with the option's codec into a pooled request;
// with an empty servicePath and serviceMethod it is a heartbeat carrying
// args encoded with MessagePack, as in rpcx.
func (client *Client) newRequest(ctx context.Context, servicePath, serviceMethod string, args interface{}) (*protocol.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := client.option.SerializeType
	heartbeat := servicePath == "" && serviceMethod == ""
	if heartbeat {
		// rpcx: a call without service path and method is a heartbeat,
		// its payload encoded with MessagePack; the server echoes it.
		st = protocol.MsgPack
	}
	cdc := client.codecs.Get(st)
	if cdc == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, st)
	}
	m := protocol.GetPooledMsg()
	// Encoded into the pooled message's own buffer when the codec can.
	payload, owned, err := codec.AppendEncode(cdc, m.PayloadBuffer(), args)
	if err != nil {
		protocol.FreeMsg(m)
		return nil, fmt.Errorf("client: encode args of %s.%s: %w", servicePath, serviceMethod, err)
	}
	if owned {
		m.SetPayloadBuffer(payload)
	} else {
		m.Payload = payload
	}
	if err := setRequestMetadata(ctx, m, nil); err != nil {
		protocol.FreeMsg(m)
		return nil, err
	}
	m.SetSerializeType(st)
	m.SetCompressType(client.option.CompressType)
	m.SetHeartbeat(heartbeat)
	m.ServicePath, m.ServiceMethod = servicePath, serviceMethod
	return m, nil
}

// setRequestMetadata gives m the metadata to send: the caller's map from
// ctx (or base), which is only read, and DeadlineKey when ctx has a
// deadline, as m's extra entry (no map is built for it). A deadline that
// has passed is context.DeadlineExceeded.
func setRequestMetadata(ctx context.Context, m *protocol.Message, base map[string]string) error {
	md := base
	if v, ok := ctx.Value(reqMetaKey).(map[string]string); ok {
		md = v
	}
	m.Metadata = md
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	rem := time.Until(dl)
	if rem <= 0 {
		return context.DeadlineExceeded
	}
	m.SetExtraMetadata(share.DeadlineKey, strconv.FormatInt(deadlineMillis(rem), 10))
	return nil
}

// sentMetadata returns the metadata m sends as one map (Call.Metadata):
// m.Metadata itself, or, with an extra entry (the deadline), a copy with
// it.
func sentMetadata(m *protocol.Message) map[string]string {
	k, v := m.ExtraMetadata()
	if k == "" {
		return m.Metadata
	}
	md := make(map[string]string, len(m.Metadata)+1)
	util.CopyMeta(m.Metadata, md)
	md[k] = v
	return md
}

// deadlineMillis rounds a remaining time budget up to whole milliseconds,
// at least 1.
func deadlineMillis(rem time.Duration) int64 {
	return max(int64((rem+time.Millisecond-1)/time.Millisecond), 1)
}

// transmit gives m a new message ID, registers rc under it (rc nil: oneway)
// and queues the frame. When it returns an error, rc is not registered and
// was not completed, and the frame was not (wholly) written: the error is
// marked for ProvablyNotRun. Otherwise rc will be completed exactly once.
func (client *Client) transmit(rc *rpcCall, m *protocol.Message) error {
	if err := client.send(rc, m); err != nil {
		return &notRunError{err}
	}
	return nil
}

// send is transmit without the marking of its errors.
func (client *Client) send(rc *rpcCall, m *protocol.Message) error {
	seq := client.seq.Add(1)
	if seq == share.DrainSeq || seq == 0 { // never reuse the drain notice ID
		seq = client.seq.Add(2)
	}
	m.SetSeq(seq)
	if hasBeforeEncode(client.Plugins) {
		if err := client.Plugins.DoClientBeforeEncode(m); err != nil {
			return fmt.Errorf("client: before encode plugin: %w", err)
		}
	}
	alone := false
	if rc != nil {
		var err error
		if alone, err = client.register(rc, seq); err != nil {
			return err
		}
	}
	if err := client.enqueue(m, alone); err != nil {
		if rc == nil || client.unregister(rc) {
			return err
		}
		return nil // shutdown already failed rc
	}
	return nil
}

// register adds rc to the pending table under seq; alone reports that it
// is the only call in flight (then its frame is written at once).
func (client *Client) register(rc *rpcCall, seq uint64) (alone bool, err error) {
	client.mu.Lock()
	defer client.mu.Unlock()
	if client.shutdown.Load() || !client.started {
		if client.shutErr != nil {
			return false, client.shutErr
		}
		return false, shutdownError(errNotConnected)
	}
	rc.seq = seq
	client.pending[seq] = rc
	return len(client.pending) == 1, nil
}

// unregister removes rc from the pending table; false means someone else
// (the reader, shutdown, ctx watcher) already took it and completes it.
func (client *Client) unregister(rc *rpcCall) bool {
	client.mu.Lock()
	defer client.mu.Unlock()
	if client.pending[rc.seq] != rc {
		return false
	}
	delete(client.pending, rc.seq)
	return true
}

// wait waits for a synchronous call's response and returns it (owned by the
// caller, who frees it) or the failure. rc goes back to the pool. call
// has its own copy of this wait (one frame less on a waiting caller's
// stack).
func (client *Client) wait(ctx context.Context, rc *rpcCall) (*protocol.Message, error) {
	if done := ctx.Done(); done != nil {
		select {
		case <-rc.ready:
		case <-done:
			return nil, client.abandon(ctx, rc)
		}
	} else {
		<-rc.ready // a ctx that never ends: a plain receive is cheaper than a select
	}
	return client.received(rc)
}

// abandon gives up on rc for ctx's end: unless the reader is completing it
// right now (its response is then freed), it is taken out of pending. rc
// goes back to the pool; the result is ctx.Err().
func (client *Client) abandon(ctx context.Context, rc *rpcCall) error {
	if !client.unregister(rc) {
		<-rc.ready // being completed right now
		protocol.FreeMsg(rc.resp)
	}
	putSyncCall(rc)
	return ctx.Err()
}

// received returns the response (or failure) handed to the signalled rc
// and pools rc.
func (client *Client) received(rc *rpcCall) (*protocol.Message, error) {
	res, err := rc.resp, rc.err
	putSyncCall(rc)
	if err != nil {
		protocol.FreeMsg(res)
		return nil, err
	}
	return res, nil
}

// complete finishes a call taken out of the pending table with its
// response msg or err. It reports whether it kept msg (the caller must not
// reuse it then).
func (client *Client) complete(rc *rpcCall, msg *protocol.Message, err error) bool {
	if !rc.async {
		rc.resp, rc.err = msg, err
		rc.ready <- struct{}{}
		return msg != nil
	}
	call := &rc.Call
	if err == nil {
		err = client.decodeReply(msg, call.Reply)
		if msg.Metadata != nil {
			call.ResMetadata = msg.Metadata
			msg.Metadata = nil // the call owns the map now
		}
		client.copyResMeta(rc.resMeta, call.ResMetadata)
	}
	call.Error = err
	if rc.stop != nil {
		rc.stop()
	}
	rc.endAttempt(msg, err)
	deliver(call)
	return false
}

// decodeReply turns a response into the call's result: the service error
// of an error response, or the payload decoded into reply with the
// response's serialize type.
func (client *Client) decodeReply(res *protocol.Message, reply interface{}) error {
	if res.MessageStatusType() == protocol.Error {
		return serviceErrorOf(res, client.errFunc)
	}
	if reply == nil || len(res.Payload) == 0 {
		return nil
	}
	st := res.SerializeType()
	cdc := client.codecs.Get(st)
	if cdc == nil {
		return fmt.Errorf("%w: %s", ErrUnsupportedCodec, st)
	}
	if err := cdc.Decode(res.Payload, reply); err != nil {
		return fmt.Errorf("client: decode reply of %s.%s: %w", res.ServicePath, res.ServiceMethod, err)
	}
	return nil
}

// rawHeaders describes a response as SendRaw's header map.
func rawHeaders(res *protocol.Message) map[string]string {
	h := make(map[string]string, 10)
	h[XVersion] = strconv.Itoa(int(res.Version()))
	h[XMessageType] = strconv.Itoa(int(res.MessageType()))
	if res.IsHeartbeat() {
		h[XHeartbeat] = "true"
	}
	if res.IsOneway() {
		h[XOneway] = "true"
	}
	if res.MessageStatusType() == protocol.Error {
		h[XMessageStatusType] = "Error"
	} else {
		h[XMessageStatusType] = "Normal"
	}
	h[XSerializeType] = strconv.Itoa(int(res.SerializeType()))
	h[XMessageID] = strconv.FormatUint(res.Seq(), 10)
	h[XServicePath] = res.ServicePath
	h[XServiceMethod] = res.ServiceMethod
	h[XMeta] = util.ConvertMap2String(res.Metadata)
	return h
}

// resMetaLocks serialise writes into callers' response metadata maps. Many
// goroutines may share one ctx (and so one map) across calls (rpcx#728); a
// lock chosen by the map's address makes those writes safe without a lock
// per map. Readers of the map must wait for their calls to finish.
var resMetaLocks [64]sync.Mutex

func lockFor(m map[string]string) *sync.Mutex {
	h := uint64(uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&m))))
	h ^= h >> 17
	h *= 0x9E3779B97F4A7C15
	return &resMetaLocks[h>>58]
}

// copyResMeta copies response metadata src into the caller's map dst and
// records the server address under share.ServerAddress, as rpcx does.
func (client *Client) copyResMeta(dst, src map[string]string) {
	if dst == nil || len(src) == 0 {
		return
	}
	addr := client.RemoteAddr()
	mu := lockFor(dst)
	mu.Lock()
	for k, v := range src {
		dst[k] = v
	}
	dst[share.ServerAddress] = addr
	mu.Unlock()
}
