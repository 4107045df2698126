// Command mtls serves Arith over mutual TLS and authorizes clients by the
// identity in their certificate: the server's AuthFunc reads the verified
// client certificate with server.PeerCertificates(ctx) and lets only
// "alice" in. "bob" has a valid certificate from the same CA and is
// refused with code PermissionDenied. It needs no external service:
//
//	go run ./examples/transport/mtls
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith struct{}

// Mul multiplies and logs who asked.
func (Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	fmt.Printf("server: Mul called by %s\n", server.PeerCertificates(ctx)[0].Subject.CommonName)
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mtls:", err)
		os.Exit(1)
	}
}

func run() error {
	ca, err := newCA()
	if err != nil {
		return err
	}
	serverCert, err := ca.issue("localhost", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return err
	}
	s := server.NewServer(server.WithTLSConfig(&tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert, // the chain is verified during the handshake
		ClientCAs:    ca.pool,
	}))
	allowed := map[string]bool{"alice": true}
	s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
		certs := server.PeerCertificates(ctx)
		if len(certs) == 0 {
			return share.NewError(share.CodeUnauthenticated, "no client certificate")
		}
		if cn := certs[0].Subject.CommonName; !allowed[cn] {
			return share.NewError(share.CodePermissionDenied, cn+" may not call this service")
		}
		return nil
	}
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	<-s.Started
	defer func() { s.Close(); <-errc }()

	for _, name := range []string{"alice", "bob"} {
		cert, err := ca.issue(name, x509.ExtKeyUsageClientAuth)
		if err != nil {
			return err
		}
		option := client.DefaultOption
		option.TLSConfig = &tls.Config{RootCAs: ca.pool, ServerName: "localhost", Certificates: []tls.Certificate{cert}}
		d, err := client.NewPeer2PeerDiscovery("tcp@"+s.Address().String(), "")
		if err != nil {
			return err
		}
		xclient := client.NewXClient("Arith", client.Failfast, client.RandomSelect, d, option)
		reply := &Reply{}
		err = xclient.Call(context.Background(), "Mul", &Args{A: 6, B: 7}, reply)
		xclient.Close()
		switch {
		case name == "alice" && err == nil:
			fmt.Printf("alice: 6 * 7 = %d\n", reply.C)
		case name == "bob" && share.CodeOf(err) == share.CodePermissionDenied:
			fmt.Printf("bob: refused (%v)\n", err)
		default:
			return errors.New(name + ": unexpected result: " + fmt.Sprint(err))
		}
	}
	return nil
}

// ca is an in-memory certificate authority.
type ca struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	pool   *x509.CertPool
	serial int64
}

func newCA() (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &ca{cert: cert, key: key, pool: pool, serial: 1}, nil
}

// issue makes a certificate with common name cn for localhost/127.0.0.1.
func (c *ca) issue(cn string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	c.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(c.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
