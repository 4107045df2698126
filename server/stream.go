package server

import (
	"context"
	"maps"
	"net"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// StreamHandler owns a raw stream opened by a client's XClient.Stream: it
// reads and writes conn freely (both directions, any protocol). conn is
// closed when the handler returns.
type StreamHandler func(conn net.Conn, args *share.StreamServiceArgs)

// StreamAcceptor decides whether a stream may be opened; it sees the RPC's
// ctx (metadata, RemoteConnContextKey, PeerCertificates) and the client's
// args. A refusal fails the client's Stream with CodePermissionDenied.
type StreamAcceptor func(ctx context.Context, args *share.StreamServiceArgs) bool

// StreamService gives clients raw bidirectional byte streams next to a
// Server, as in rpcx: the client calls Stream on the service registered
// by EnableStreamService, gets a single-use token and the address of the
// StreamService's own TCP listener, dials it and sends the token; the
// connection then belongs to the StreamHandler. Addr and AdvertiseAddr
// work as in FileTransfer.
type StreamService struct {
	Addr          string
	AdvertiseAddr string

	handler  StreamHandler
	acceptor StreamAcceptor
	data     *dataServer
}

type streamToken struct{ args *share.StreamServiceArgs }

// NewStreamService returns a StreamService that listens on addr and runs
// streamHandler for every stream that acceptor (nil: accept all) lets
// open. waitNum bounds the tokens waiting for their connection (<= 0:
// 1000).
func NewStreamService(addr string, streamHandler StreamHandler, acceptor StreamAcceptor, waitNum int) *StreamService {
	ss := &StreamService{Addr: addr, handler: streamHandler, acceptor: acceptor}
	ss.data = newDataServer("stream service", waitNum, func(conn net.Conn, val any) {
		ss.handler(conn, val.(streamToken).args)
	})
	return ss
}

// Start listens on Addr and serves streams in the background. It returns
// the listen error; calling it again does nothing, and after Stop it fails.
func (s *StreamService) Start() error {
	addr, err := s.data.start(s.Addr)
	if err == nil {
		s.Addr = addr
	}
	return err
}

// Stop closes the listener, resets open streams and waits for their
// handlers to return.
func (s *StreamService) Stop() error { return s.data.stop() }

// Stream is the RPC that opens a stream: it asks the acceptor, then
// replies with a token and the address to dial. It fails with
// CodePermissionDenied when refused, CodeUnimplemented without a handler
// and CodeUnavailable when the service is not started or stopped.
func (s *StreamService) Stream(ctx context.Context, args *share.StreamServiceArgs, reply *share.StreamServiceReply) error {
	if s.handler == nil {
		return share.NewError(share.CodeUnimplemented, "server: streams are not served")
	}
	if s.acceptor != nil && !s.acceptor(ctx, args) {
		return share.NewError(share.CodePermissionDenied, "server: stream refused")
	}
	a := *args
	a.Meta = maps.Clone(args.Meta)
	token, addr, err := s.data.newToken(s.data.tokenValue(ctx, "Stream", streamToken{args: &a}))
	if err != nil {
		return withCode(share.CodeUnavailable, err)
	}
	if s.AdvertiseAddr != "" {
		addr = s.AdvertiseAddr
	}
	*reply = share.StreamServiceReply{Token: token, Addr: addr}
	return nil
}

// EnableStreamService starts streamService and registers it under
// serviceName (share.StreamServiceName, "_streamservice", when empty);
// clients use NewXClient(serviceName, ...).Stream. The StreamService is
// stopped when the server shuts down. The server's CallObserverPlugins see
// each stream as a call of "Stream.data" lasting as long as its handler,
// with the Stream call's metadata (a trace continues). Errors are logged,
// as rpcx's signature returns none.
func (s *Server) EnableStreamService(serviceName string, streamService *StreamService) {
	if serviceName == "" {
		serviceName = share.StreamServiceName
	}
	if err := streamService.Start(); err != nil {
		log.Errorf("server: enable stream service: %v", err)
		return
	}
	streamService.data.observe(s.observers, serviceName)
	if err := s.RegisterName(serviceName, streamService, ""); err != nil {
		log.Errorf("server: enable stream service: %v", err)
		_ = streamService.Stop()
		return
	}
	s.RegisterOnShutdown(func(*Server) { _ = streamService.Stop() })
}
