package testutils

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// TLSIdentities is a test CA with a server certificate (for 127.0.0.1,
// ::1 and localhost) and one client certificate per name, each with that
// name as Subject CommonName. Use it for tests that authorize clients by
// certificate identity.
type TLSIdentities struct {
	CAPool  *x509.CertPool
	Server  tls.Certificate
	Clients map[string]tls.Certificate
}

// NewTLSIdentities makes a fresh CA and certificates for the client names.
func NewTLSIdentities(clientNames ...string) (*TLSIdentities, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "courier identity test CA"},
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
	id := &TLSIdentities{CAPool: x509.NewCertPool(), Clients: make(map[string]tls.Certificate, len(clientNames))}
	id.CAPool.AddCert(caCert)
	serial := int64(2)
	leaf := func(cn string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
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
		serial++
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return tls.Certificate{}, err
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
	}
	if id.Server, err = leaf("courier identity test server", x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	for _, name := range clientNames {
		if id.Clients[name], err = leaf(name, x509.ExtKeyUsageClientAuth); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// ServerConfig returns a server config that requires and verifies client
// certificates signed by the CA.
func (id *TLSIdentities) ServerConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    id.CAPool,
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientConfig returns a client config that trusts the CA and presents the
// certificate of name. It panics for a name not given to NewTLSIdentities
// (a test bug).
func (id *TLSIdentities) ClientConfig(name string) *tls.Config {
	cert, ok := id.Clients[name]
	if !ok {
		panic(fmt.Sprintf("testutils: no client certificate for %q", name))
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      id.CAPool,
		ServerName:   "localhost",
		MinVersion:   tls.VersionTLS12,
	}
}
