// Command tls serves Arith over TLS on TCP and calls it with a client that
// trusts the server's certificate authority. The certificates are made in
// memory at start; with files use tls.LoadX509KeyPair as in the guide. It
// needs no external service:
//
//	go run ./examples/transport/tls
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith struct{}

// Mul multiplies.
func (Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tls:", err)
		os.Exit(1)
	}
}

func run() error {
	caPool, serverCert, err := makeCerts()
	if err != nil {
		return err
	}
	s := server.NewServer(server.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{serverCert}}))
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	<-s.Started
	defer func() { s.Close(); <-errc }()

	option := client.DefaultOption
	option.TLSConfig = &tls.Config{RootCAs: caPool, ServerName: "localhost"}
	d, err := client.NewPeer2PeerDiscovery("tcp@"+s.Address().String(), "")
	if err != nil {
		return err
	}
	xclient := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, option)
	defer xclient.Close()
	reply := &Reply{}
	if err := xclient.Call(context.Background(), "Mul", &Args{A: 10, B: 20}, reply); err != nil {
		return fmt.Errorf("call: %w", err)
	}
	fmt.Printf("over TLS: 10 * 20 = %d\n", reply.C)
	return nil
}

// makeCerts makes a CA and a server certificate for localhost/127.0.0.1.
func makeCerts() (*x509.CertPool, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "example server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: leafKey}, nil
}
