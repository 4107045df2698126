package cross

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	cclient "github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/compat/internal/testsvc"
	cserver "github.com/courier-rpc/courier/server"
	rserver "github.com/smallnest/rpcx/server"
	rshare "github.com/smallnest/rpcx/share"
)

// testTLS returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a client config that trusts only it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "courier compat test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

// serveTLS starts srv's Serve("tcp", "127.0.0.1:0") (so the server's own
// TLS listener is used) and returns its address once Started is closed.
func serveTLS(t *testing.T, name string, serve func() error, started <-chan struct{}, addr func() net.Addr, closeFn func() error) string {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- serve() }()
	select {
	case <-started:
	case err := <-served:
		t.Fatalf("%s Serve returned at once: %v", name, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s server did not start in 5s", name)
	}
	t.Cleanup(func() {
		_ = closeFn()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Errorf("%s Serve did not return within 5s of Close", name)
		}
	})
	return addr().String()
}

// TestTLS: both implementations' TLS listeners and dialers interoperate.
func TestTLS(t *testing.T) {
	serverCfg, clientCfg := testTLS(t)
	call := func(t *testing.T, fn callFn) {
		t.Helper()
		var r testsvc.Reply
		if err := fn(ctxTimeout(t), "Mul", &testsvc.Args{A: 11, B: 11}, &r); err != nil || r.C != 121 {
			t.Fatalf("Mul over TLS: %d, %v", r.C, err)
		}
	}

	t.Run("rpcx-client/courier-server", func(t *testing.T) {
		s := cserver.NewServer(cserver.WithTLSConfig(serverCfg))
		if err := s.RegisterName("Arith", testsvc.NewArith(testsvc.CourierMeta), ""); err != nil {
			t.Fatal(err)
		}
		addr := serveTLS(t, "courier", func() error {
			err := s.Serve("tcp", "127.0.0.1:0")
			if errors.Is(err, cserver.ErrServerClosed) {
				return nil
			}
			return err
		}, s.Started, s.Address, s.Close)
		opt := rpcxOption(stMsgPack, false)
		opt.TLSConfig = clientCfg
		xc := newRpcxXClient(t, "Arith", addr, opt)
		call(t, rpcxCall(xc))
	})

	t.Run("rpcx-client/rpcx-server", func(t *testing.T) {
		s := rserver.NewServer(rserver.WithTLSConfig(serverCfg))
		if err := s.RegisterName("Arith", testsvc.NewArith(testsvc.RpcxMeta(rshare.ReqMetaDataKey, rshare.ResMetaDataKey)), ""); err != nil {
			t.Fatal(err)
		}
		addr := serveTLS(t, "rpcx", func() error { return s.Serve("tcp", "127.0.0.1:0") }, s.Started, s.Address, s.Close)
		opt := rpcxOption(stMsgPack, false)
		opt.TLSConfig = clientCfg
		xc := newRpcxXClient(t, "Arith", addr, opt)
		call(t, rpcxCall(xc))
	})

	t.Run("courier-client/rpcx-server", func(t *testing.T) {
		s := rserver.NewServer(rserver.WithTLSConfig(serverCfg))
		if err := s.RegisterName("Arith", testsvc.NewArith(testsvc.RpcxMeta(rshare.ReqMetaDataKey, rshare.ResMetaDataKey)), ""); err != nil {
			t.Fatal(err)
		}
		addr := serveTLS(t, "rpcx", func() error { return s.Serve("tcp", "127.0.0.1:0") }, s.Started, s.Address, s.Close)
		opt := courierOption(stMsgPack, false)
		opt.TLSConfig = clientCfg
		cl := newCourierClient(t, addr, opt)
		call(t, courierCall(cl))

		// A courier client that does not trust the certificate fails to
		// connect with a TLS error, not a hang.
		bad := courierOption(stMsgPack, false)
		bad.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		c := cclient.NewClient(bad)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- c.Connect("tcp", addr) }()
		select {
		case err := <-errc:
			var uerr x509.UnknownAuthorityError
			if err == nil || !errors.As(err, &uerr) {
				_ = c.Close()
				t.Fatalf("Connect with an untrusted certificate: %v, want an x509.UnknownAuthorityError", err)
			}
		case <-ctx.Done():
			t.Fatal("Connect with an untrusted certificate did not return in 5s")
		}
	})
}
