package cross

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/courier-rpc/courier/compat/internal/testsvc"
	cprotocol "github.com/courier-rpc/courier/protocol"
	cserver "github.com/courier-rpc/courier/server"
)

func init() {
	serverKinds = append(serverKinds, serverKind{name: "courier-server", start: startCourierServer})
}

// startCourierServer starts a courier server on 127.0.0.1 with Arith
// registered.
func startCourierServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	svc := testsvc.NewArith(testsvc.CourierMeta)
	var opts []cserver.OptionFn
	if cfg.readTimeout > 0 {
		opts = append(opts, cserver.WithReadTimeout(cfg.readTimeout))
	}
	s := cserver.NewServer(opts...)
	if err := s.RegisterName("Arith", svc, ""); err != nil {
		t.Fatalf("courier RegisterName: %v", err)
	}
	if cfg.auth {
		s.AuthFunc = func(ctx context.Context, req *cprotocol.Message, token string) error { return checkToken(token) }
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeListener("tcp", ln) }()
	select {
	case <-s.Started:
	case err := <-served:
		t.Fatalf("courier ServeListener returned at once: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("courier server did not close Started within 5s")
	}
	tap := testsvc.NewTap(t, ln.Addr().String())
	t.Cleanup(func() {
		svc.Release()
		_ = s.Close()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, cserver.ErrServerClosed) {
				t.Errorf("courier ServeListener returned %v, want nil or ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("courier ServeListener did not return within 5s of Close")
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
	return &testServer{kind: "courier", svc: svc, tap: tap, shutdown: s.Shutdown, notify: notify}
}
