package testutils

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"time"
)

// TLSPair holds a self-signed CA and server/client certificates for
// 127.0.0.1, ::1 and localhost.
type TLSPair struct {
	CAPool *x509.CertPool
	Server tls.Certificate
	Client tls.Certificate
}

var (
	tlsOnce sync.Once
	tlsPair *TLSPair
	tlsErr  error
)

// TLS returns the process-wide test certificates, made on first use.
func TLS() (*TLSPair, error) {
	tlsOnce.Do(func() { tlsPair, tlsErr = newTLSPair() })
	return tlsPair, tlsErr
}

// ServerConfig returns a server TLS config; with mutual set it requires and
// verifies client certificates.
func (p *TLSPair) ServerConfig(mutual bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.Server}, MinVersion: tls.VersionTLS12}
	if mutual {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.CAPool
	}
	return c
}

// ClientConfig returns a client TLS config trusting the test CA; with
// mutual set it presents the client certificate.
func (p *TLSPair) ClientConfig(mutual bool) *tls.Config {
	c := &tls.Config{RootCAs: p.CAPool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if mutual {
		c.Certificates = []tls.Certificate{p.Client}
	}
	return c
}

func newTLSPair() (*TLSPair, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "courier test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return tls.Certificate{}, err
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
	}
	srv, err := leaf(2, "courier test server", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	cli, err := leaf(3, "courier test client", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	return &TLSPair{CAPool: pool, Server: srv, Client: cli}, nil
}
