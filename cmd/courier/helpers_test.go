package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tu "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/health"
	"github.com/courier-rpc/courier/reflection"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// binary is the courier command built once by TestMain; the tests run it
// as a person would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "courier-cli-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "courier")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("building courier: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	if code == 0 {
		if leaked := leakcheck.Wait(10 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutines leaked:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the built binary with args and stdin, bounded by 60 s.
func cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running courier %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// Meta answers with the request metadata and counts oneway calls.
type Meta struct{ oneway atomic.Int64 }

// Get replies with the request metadata.
func (m *Meta) Get(ctx context.Context, _ *struct{}, reply *map[string]string) error {
	md, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	*reply = map[string]string{}
	for k, v := range md {
		if !strings.HasPrefix(k, "__") {
			(*reply)[k] = v
		}
	}
	if res, ok := ctx.Value(share.ResMetaDataKey).(map[string]string); ok {
		res["served-by"] = "meta"
	}
	return nil
}

// Touch counts a call (the oneway test sends it).
func (m *Meta) Touch(_ context.Context, _ *struct{}, _ *struct{}) error {
	m.oneway.Add(1)
	return nil
}

// Flaky fails every second call with CodeResourceExhausted.
func (m *Meta) Flaky(_ context.Context, _ *struct{}, _ *struct{}) error {
	if m.oneway.Add(1)%2 == 0 {
		return share.NewError(share.CodeResourceExhausted, "flaky: try later")
	}
	return nil
}

// Slow hangs on every second call until the call's deadline (which must
// have crossed the wire) passes; it fails after 10 s without one.
func (m *Meta) Slow(ctx context.Context, _ *struct{}, _ *struct{}) error {
	if m.oneway.Add(1)%2 == 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("slow: the call came without a deadline")
		}
	}
	return nil
}

// testServer is a courier server on loopback (TLS with the config given) with Arith, Meta, Reflection
// and the Health service (Arith serving, Meta set not serving).
type testServer struct {
	addr string
	meta *Meta
}

// serverOpts vary startServer: a TLS config to serve with, and whether to
// leave the Health service out.
type serverOpts struct {
	tls      *tls.Config
	noHealth bool
}

func startServer(t *testing.T, opts ...serverOpts) *testServer {
	t.Helper()
	s := server.NewServer()
	r := reflection.New()
	s.Plugins.Add(r)
	ts := &testServer{meta: new(Meta)}
	for name, rcvr := range map[string]any{"Arith": new(tu.Arith), "Echo": new(tu.Echo), "Meta": ts.meta, "Reflection": r} {
		if err := s.RegisterName(name, rcvr, ""); err != nil {
			t.Fatal(err)
		}
	}
	var o serverOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	if !o.noHealth {
		h, err := health.Register(s)
		if err != nil {
			t.Fatal(err)
		}
		h.SetServingStatus("Meta", health.NotServing)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.tls != nil {
		ln = tls.NewListener(ln, o.tls)
	}
	go s.ServeListener("tcp", ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	ts.addr = "tcp@" + ln.Addr().String()
	return ts
}

// pemFiles are a CA, a server and a client certificate for 127.0.0.1 in
// PEM files, and the server's TLS config (mutual: it requires a client
// certificate signed by the CA).
type pemFiles struct {
	ca, cert, key string
	server        *tls.Config
}

func writePEM(t *testing.T, dir string) pemFiles {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cli test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "cli test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	srvDER, srvKey := leaf(2, x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := leaf(3, x509.ExtKeyUsageClientAuth)
	cliKeyDER, _ := x509.MarshalECPrivateKey(cliKey)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pemFiles{
		ca:   write("ca.pem", "CERTIFICATE", caDER),
		cert: write("client.pem", "CERTIFICATE", cliDER),
		key:  write("client.key", "EC PRIVATE KEY", cliKeyDER),
		server: &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
			Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}},
	}
}

// oneStderrLine checks that a failure printed exactly one line on stderr
// containing want.
func oneStderrLine(t *testing.T, r result, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], want) || !strings.HasPrefix(lines[0], "courier: ") {
		t.Errorf("stderr %q: want one line with %q", r.stderr, want)
	}
}
