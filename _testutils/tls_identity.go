package testutils

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
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
	ca, err := newTestCA("courier identity test CA")
	if err != nil {
		return nil, err
	}
	id := &TLSIdentities{CAPool: ca.pool, Clients: make(map[string]tls.Certificate, len(clientNames))}
	if id.Server, err = ca.leaf("courier identity test server", x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	for _, name := range clientNames {
		if id.Clients[name], err = ca.leaf(name, x509.ExtKeyUsageClientAuth); err != nil {
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
