package server

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// newResponse returns a pooled response to req: same header (message ID,
// serialize type), no compression (see compressReply), response type,
// status normal, same path and method, no metadata or payload.
func newResponse(req *protocol.Message) *protocol.Message {
	res := protocol.GetPooledMsg()
	*res.Header = *req.Header
	res.SetCompressType(protocol.None)
	res.SetMessageType(protocol.Response)
	res.SetMessageStatusType(protocol.Normal)
	res.SetOneway(false)
	res.ServicePath = req.ServicePath
	res.ServiceMethod = req.ServiceMethod
	return res
}

// compressReply gives res the request's compress type when its payload is
// longer than protocol.CompressThreshold, as rpcx does; smaller replies go
// uncompressed. Call it once the payload is final, before PreWriteResponse.
func compressReply(req, res *protocol.Message) {
	if len(res.Payload) > protocol.CompressThreshold && req.CompressType() != protocol.None {
		res.SetCompressType(req.CompressType())
	}
}

// mergeMeta adds the handler's response metadata to res.
func mergeMeta(res *protocol.Message, meta map[string]string) {
	if len(meta) == 0 {
		return
	}
	if res.Metadata == nil {
		res.Metadata = make(map[string]string, len(meta)+2)
	}
	for k, v := range meta {
		if _, ok := res.Metadata[k]; !ok {
			res.Metadata[k] = v
		}
	}
}

// setError turns res into the error response of err: status Error, the
// text in protocol.ServiceError, the code (when err has one) in
// share.ErrorCodeKey, and share.DrainKey for a draining server's refusal.
func setError(res *protocol.Message, err error, errFunc func(*protocol.Message, error) string) {
	res.SetMessageStatusType(protocol.Error)
	res.Payload = nil
	if res.Metadata == nil {
		res.Metadata = make(map[string]string, 2)
	}
	text := ""
	if errFunc != nil {
		text = errFunc(res, err)
	} else {
		text = err.Error()
	}
	res.Metadata[protocol.ServiceError] = text
	if code := share.CodeOf(err); code != share.CodeUnknown && code != share.CodeOK {
		res.Metadata[share.ErrorCodeKey] = strconv.FormatUint(uint64(code), 10)
	}
	if errors.Is(err, ErrShuttingDown) {
		res.Metadata[share.DrainKey] = "1"
	}
}

// replyError answers req with err from the reader (no handler ran) and
// frees req after the write; oneway requests are just freed.
func (s *Server) replyError(c *conn, req *protocol.Message, err error) {
	if req.IsOneway() {
		protocol.FreeMsg(req)
		return
	}
	res := newResponse(req)
	setError(res, err, s.ServerErrorFunc)
	s.stats.errors.Add(1)
	c.enqueue(outItem{msg: res, req: req})
}

// requestTimeout returns the time budget a client asked for in metadata
// (share.DeadlineKey, else share.ServerTimeout, in ms), capped by
// WithMaxDeadline.
func (s *Server) requestTimeout(md map[string]string) (time.Duration, bool) {
	if len(md) == 0 {
		return 0, false
	}
	v, ok := md[share.DeadlineKey]
	if !ok {
		if v, ok = md[share.ServerTimeout]; !ok {
			return 0, false
		}
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return 0, false
	}
	d := time.Duration(ms) * time.Millisecond
	if ms > int64(1<<62)/int64(time.Millisecond) {
		d = 1 << 62
	}
	if s.maxDeadline > 0 && d > s.maxDeadline {
		d = s.maxDeadline
	}
	return d, true
}

// writeHooks reports whether PreWriteResponse/PostWriteResponse hooks
// may exist: they are what reads StartSendRequestContextKey.
func (s *Server) writeHooks() bool {
	return s.mayHook(func(h *hooks) int { return len(h.preWriteResp) + len(h.postWriteResp) })
}

// callPlugins reports whether PreCall/PostCall hooks may exist.
func (s *Server) callPlugins() bool {
	return s.mayHook(func(h *hooks) int { return len(h.preCall) + len(h.postCall) })
}

// mayHook reports whether the hooks that count counts may exist: always
// for a plugin container that is not the server's own.
func (s *Server) mayHook(count func(*hooks) int) bool {
	pc, ok := s.Plugins.(*pluginContainer)
	return !ok || count(pc.Hooks()) > 0
}

// runJob runs a pool task: a request or a connection's flush.
func (s *Server) runJob(j job) {
	if j.flush {
		j.c.flush()
		return
	}
	s.serveRequest(j)
}

// serveRequest handles one request on a pool worker and queues its response.
func (s *Server) serveRequest(j job) {
	c, req := j.c, j.req
	now := j.at
	if now.IsZero() || s.adm != nil { // admission times the run itself, from its start
		now = time.Now()
	}
	rc := &reqCtx{src: &c.src, reqMeta: req.Metadata, start: now.UnixNano(), callPlugins: s.callPlugins()}
	if d, ok := s.requestTimeout(req.Metadata); ok {
		rc.setDeadline(now.Add(d))
		defer rc.endDeadline()
	}
	if !req.IsOneway() {
		rc.res = newResponse(req)
	}
	if s.trace {
		log.Infof("server: request %s.%s seq %d from %s", req.ServicePath, req.ServiceMethod, req.Seq(), c.nc.RemoteAddr())
	}
	obs := s.observers()
	if obs != nil {
		rc.src = &reqSource{ctx: startCall(obs, c.ctx, c.nc, req), s: s, nc: c.nc}
	}
	payload, h, err := s.call(rc, req, j.m)
	res := rc.res
	rc.res = nil // a handler may keep its ctx; it must not keep res
	if h != nil {
		protocol.FreeMsg(res) // nil for oneway
		if s.adm != nil {
			defer s.adm.release(now, j.gate) // the Handler writes its own reply
		}
		s.runHandler(rc, c, req, h, obs)
		return
	}
	if s.adm != nil {
		// The slots are free before the reply is written: a caller that
		// sends its next request as soon as it has this reply finds them.
		s.adm.release(now, j.gate)
	}
	if err != nil && s.HandleServiceError != nil {
		s.HandleServiceError(err)
	}
	if req.IsOneway() {
		if obs != nil {
			endCall(obs, rc, req, nil, err)
		}
		c.endNoReply(req)
		return
	}
	res.Payload = payload
	mergeMeta(res, rc.takeResMeta())
	if err != nil {
		setError(res, err, s.ServerErrorFunc)
		s.stats.errors.Add(1)
	}
	if s.trace {
		log.Infof("server: reply %s.%s seq %d to %s: error %v", req.ServicePath, req.ServiceMethod, req.Seq(), c.nc.RemoteAddr(), err)
	}
	if obs != nil {
		endCall(obs, rc, req, res, err)
	}
	compressReply(req, res)
	if obs != nil || s.writeHooks() {
		// The wall clock at the start plus the monotonic time since: one
		// clock read instead of time.Now's two (about 100 ns each on the
		// reference VM), and none when nothing after here reads it.
		rc.setSendAt(rc.start + int64(time.Since(now)))
	}
	_ = s.Plugins.DoPreWriteResponse(rc, req, res, err)
	c.enqueue(outItem{msg: res, req: req, ctx: rc, kind: itemResponse, done: true})
}

// call runs the checks and the method of a request. For a route added with
// AddHandler it returns the Handler instead of calling it. found, when not
// nil, is the method the reader looked up for req's route: it is used
// unless a PreHandleRequest plugin changed the route (the registry is then
// not searched twice per request).
func (s *Server) call(rc *reqCtx, req *protocol.Message, found *method) (payload []byte, h Handler, err error) {
	path, name := req.ServicePath, req.ServiceMethod
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(r, req)
		}
	}()
	if s.AuthFunc != nil {
		if err = s.AuthFunc(rc, req, req.Metadata[share.AuthKey]); err != nil {
			if share.CodeOf(err) == share.CodeUnknown {
				err = withCode(share.CodeUnauthenticated, err)
			}
			return nil, nil, err
		}
	}
	if err = s.Plugins.DoPreHandleRequest(rc, req); err != nil {
		return nil, nil, err
	}
	m := found
	if m == nil || req.ServicePath != path || req.ServiceMethod != name {
		if m, err = s.loadRegistry().find(req.ServicePath, req.ServiceMethod); err != nil {
			return nil, nil, err
		}
	}
	if m.handler != nil {
		return nil, m.handler, nil
	}
	cd := s.codecs.Get(req.SerializeType())
	if cd == nil {
		return nil, nil, withCode(share.CodeInvalidArgument, fmt.Errorf("can not find codec for %d", req.SerializeType()))
	}
	payload, err = m.invoke(rc, cd, req)
	return payload, nil, err
}

// recovered turns a handler panic into an error and logs it with its stack.
func (s *Server) recovered(r interface{}, req *protocol.Message) error {
	buf := make([]byte, 8<<10)
	buf = buf[:runtime.Stack(buf, false)]
	s.stats.panics.Add(1)
	e := RpcServiceInternalError{Err: fmt.Sprint(r), Method: req.ServicePath + "." + req.ServiceMethod, stack: string(buf)}
	log.Errorf("server: handler panicked: %s", e.String())
	return e
}

// runHandler runs a Handler added with AddHandler. If it returns without
// writing, its error (or an empty reply) is sent.
// obs are the call observers whose StartCall ran (EndCall runs here).
func (s *Server) runHandler(rc *reqCtx, c *conn, req *protocol.Message, h Handler, obs []CallObserverPlugin) {
	hc := &Context{conn: c.nc, req: req, ctx: share.NewContext(rc), async: s.AsyncWrite, c: c, s: s}
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = s.recovered(r, req)
			}
		}()
		return h(hc)
	}()
	if err != nil && s.HandleServiceError != nil {
		s.HandleServiceError(err)
	}
	if obs != nil {
		endCall(obs, rc, req, nil, err)
	}
	switch {
	case hc.written.Load():
		if err != nil {
			log.Debugf("server: handler %s.%s returned %v after writing its response", req.ServicePath, req.ServiceMethod, err)
		}
	case req.IsOneway():
		c.endNoReply(req)
		return
	case err != nil:
		s.stats.errors.Add(1)
		_ = hc.send(newResponse(req), err)
	default:
		_ = hc.send(newResponse(req), nil)
	}
	protocol.FreeMsg(req)
}
