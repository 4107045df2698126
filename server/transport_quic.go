//go:build quic

package server

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/courier-rpc/courier/internal/quicconn"

	"github.com/courier-rpc/courier/log"
)

func init() { RegisterMakeListener("quic", quicMakeListener) }

// quicMakeListener listens for QUIC on a UDP address. Each QUIC connection
// carries one rpcx connection on its first bidirectional stream. TLS is
// mandatory in QUIC: without WithTLSConfig it fails with ErrQUICNeedsTLS.
func quicMakeListener(s *Server, address string) (net.Listener, error) {
	if s.tlsConfig == nil {
		return nil, ErrQUICNeedsTLS
	}
	cfg := s.tlsConfig.Clone()
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{quicconn.ALPN}
	}
	qcfg := &quic.Config{KeepAlivePeriod: quicconn.KeepAlive}
	if s.keepAlive > 0 && s.keepAlive < quicconn.KeepAlive {
		qcfg.KeepAlivePeriod = s.keepAlive
	}
	if s.frameTimeout > 0 {
		qcfg.HandshakeIdleTimeout = s.frameTimeout
	}
	ln, err := quic.ListenAddr(address, cfg, qcfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &quicListener{ln: ln, ctx: ctx, cancel: cancel, conns: make(chan net.Conn), streamTimeout: s.frameTimeout}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// quicListener turns QUIC connections into net.Conns: a connection is
// returned by Accept once its peer opened (and wrote on) a stream.
type quicListener struct {
	ln            *quic.Listener
	ctx           context.Context
	cancel        context.CancelFunc
	conns         chan net.Conn
	streamTimeout time.Duration
	wg            sync.WaitGroup
	once          sync.Once
	mu            sync.Mutex
	err           error // why acceptLoop stopped
}

func (l *quicListener) acceptLoop() {
	defer l.wg.Done()
	for {
		qc, err := l.ln.Accept(l.ctx)
		if err != nil {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			l.cancel()
			return
		}
		l.wg.Add(1)
		go l.acceptStream(qc)
	}
}

// acceptStream waits for the first stream of qc and hands it to Accept.
func (l *quicListener) acceptStream(qc *quic.Conn) {
	defer l.wg.Done()
	ctx, cancel := l.ctx, context.CancelFunc(func() {})
	if l.streamTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, l.streamTimeout)
	}
	st, err := qc.AcceptStream(ctx)
	cancel()
	if err != nil {
		log.Debugf("server: quic connection from %s opened no stream: %v", qc.RemoteAddr(), err)
		_ = qc.CloseWithError(0, "no stream")
		return
	}
	select {
	case l.conns <- quicconn.New(qc, st):
	case <-l.ctx.Done():
		_ = qc.CloseWithError(0, "server closed")
	}
}

// Accept returns the next connection.
func (l *quicListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err == nil || errors.Is(err, quic.ErrServerClosed) || errors.Is(err, context.Canceled) {
			err = net.ErrClosed
		}
		return nil, err
	}
}

// Close stops accepting and waits for the accept goroutines.
func (l *quicListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.ln.Close()
		l.wg.Wait()
	})
	return err
}

// Addr returns the UDP address listened on.
func (l *quicListener) Addr() net.Addr { return l.ln.Addr() }
