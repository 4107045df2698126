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
	ca, err := newTestCA("courier test CA")
	if err != nil {
		return nil, err
	}
	srv, err := ca.leaf("courier test server", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	cli, err := ca.leaf("courier test client", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	return &TLSPair{CAPool: ca.pool, Server: srv, Client: cli}, nil
}

// testCA is a fresh self-signed CA (valid from an hour ago for a day) that
// signs leaf certificates for 127.0.0.1, ::1 and localhost, numbered from
// serial 2. It is not safe for concurrent use.
type testCA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	pool   *x509.CertPool // holds cert
	serial int64          // of the last certificate made
}

func newTestCA(commonName string) (*testCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &testCA{cert: cert, key: key, pool: x509.NewCertPool(), serial: 1}
	ca.pool.AddCert(cert)
	return ca, nil
}

// leaf makes a certificate with the next serial for commonName and usage.
func (ca *testCA) leaf(commonName string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
