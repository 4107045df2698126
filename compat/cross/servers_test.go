package cross

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	rclient "github.com/smallnest/rpcx/client"
	rprotocol "github.com/smallnest/rpcx/protocol"
	rserver "github.com/smallnest/rpcx/server"
	rshare "github.com/smallnest/rpcx/share"
)

// goodToken is the only token the auth servers accept; errBadToken is what
// their AuthFunc returns for any other.
const goodToken = "bearer tGzv3JOkF0XG5Qx2TlKWIA"

var errBadToken = errors.New("invalid token: access denied")

// checkToken is the AuthFunc body both kinds of server use.
func checkToken(token string) error {
	if token != goodToken {
		return errBadToken
	}
	return nil
}

// serverConfig selects optional server behaviour.
type serverConfig struct {
	auth        bool          // install an AuthFunc that calls checkToken
	readTimeout time.Duration // WithReadTimeout, when not 0
}

// testServer is a running server of either kind behind a tap.
type testServer struct {
	kind string
	svc  *testsvc.Arith
	tap  *testsvc.Tap
	// shutdown shuts the server down gracefully.
	shutdown func(ctx context.Context) error
	// heartbeats counts heartbeat requests the server saw, where the kind
	// can tell (rpcx: HeartbeatPlugin); nil otherwise.
	heartbeats func() int
	// notify sends a server notification on every client connection and
	// returns how many connections it was sent on.
	notify func(path, method string, md map[string]string, data []byte) (int, error)
}

// addr is where clients dial: the tap in front of the server.
func (s *testServer) addr() string { return s.tap.Addr() }

// serverKind starts one kind of server.
type serverKind struct {
	name  string
	start func(t *testing.T, cfg serverConfig) *testServer
}

// serverKinds are the servers rpcx clients are tested against. rpcx comes
// first: it is the baseline that shows the expectation is rpcx's own.
var serverKinds = []serverKind{{name: "rpcx-server", start: startRpcxServer}}

// heartbeatCounter is an rpcx server HeartbeatPlugin.
type heartbeatCounter struct {
	mu sync.Mutex
	n  int
}

func (h *heartbeatCounter) HeartbeatRequest(ctx context.Context, req *rprotocol.Message) error {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return nil
}

func (h *heartbeatCounter) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// startRpcxServer starts an rpcx v1.9.1 server on 127.0.0.1 with Arith
// registered.
func startRpcxServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	svc := testsvc.NewArith(testsvc.RpcxMeta(rshare.ReqMetaDataKey, rshare.ResMetaDataKey))
	var opts []rserver.OptionFn
	if cfg.readTimeout > 0 {
		opts = append(opts, rserver.WithReadTimeout(cfg.readTimeout))
	}
	s := rserver.NewServer(opts...)
	hb := &heartbeatCounter{}
	s.Plugins.Add(hb)
	if err := s.RegisterName("Arith", svc, ""); err != nil {
		t.Fatalf("rpcx RegisterName: %v", err)
	}
	if cfg.auth {
		s.AuthFunc = func(ctx context.Context, req *rprotocol.Message, token string) error { return checkToken(token) }
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.ServeListener("tcp", ln)
	}()
	select {
	case <-s.Started:
	case <-time.After(5 * time.Second):
		t.Fatal("rpcx server did not start")
	}
	tap := testsvc.NewTap(t, ln.Addr().String())
	t.Cleanup(func() {
		svc.Release()
		_ = s.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Error("rpcx ServeListener did not return after Close")
		}
	})
	notify := func(path, method string, md map[string]string, data []byte) (int, error) {
		conns := s.ActiveClientConn()
		for _, c := range conns {
			if err := s.SendMessage(c, path, method, md, data); err != nil {
				return 0, err
			}
		}
		return len(conns), nil
	}
	return &testServer{kind: "rpcx", svc: svc, tap: tap, shutdown: s.Shutdown, heartbeats: hb.count, notify: notify}
}

// newRpcxXClient returns an rpcx XClient for servicePath on addr
// (Peer2Peer, Failfast), closed by t.Cleanup.
func newRpcxXClient(t *testing.T, servicePath, addr string, opt rclient.Option) rclient.XClient {
	t.Helper()
	d, err := rclient.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatalf("rpcx discovery: %v", err)
	}
	xc := rclient.NewXClient(servicePath, rclient.Failfast, rclient.RandomSelect, d, opt)
	t.Cleanup(func() { _ = xc.Close() })
	return xc
}

// rpcxOption returns rpcx's DefaultOption with serialize type st.
func rpcxOption(st byte, gzip bool) rclient.Option {
	opt := rclient.DefaultOption
	opt.SerializeType = rprotocol.SerializeType(st)
	if gzip {
		opt.CompressType = rprotocol.Gzip
	}
	opt.Retries = 0
	return opt
}

// decodeRecorder is an rpcx client plugin that keeps a copy of every
// message the client decoded.
type decodeRecorder struct {
	mu   sync.Mutex
	msgs []*rprotocol.Message
}

func (r *decodeRecorder) ClientAfterDecode(m *rprotocol.Message) error {
	c := m.Clone()
	r.mu.Lock()
	r.msgs = append(r.msgs, c)
	r.mu.Unlock()
	return nil
}

// count returns how many decoded messages satisfy ok.
func (r *decodeRecorder) count(ok func(*rprotocol.Message) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if ok(m) {
			n++
		}
	}
	return n
}
