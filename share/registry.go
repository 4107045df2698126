package share

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// DefaultRegistryConnectionTimeout is the dial and request timeout a
// registry client (register plugin or discovery) uses when
// RegistryOptions.ConnectionTimeout is zero.
const DefaultRegistryConnectionTimeout = 5 * time.Second

// ErrRegistryOptions is returned (wrapped) when RegistryOptions cannot be
// used, for example when a TLS file cannot be read.
var ErrRegistryOptions = errors.New("share: bad registry options")

// RegistryOptions configures the connection of a service registry client:
// the register plugins in serverplugin and the registry discoveries in
// client take a *RegistryOptions (nil means all defaults). It stands in for
// rpcx's libkv store.Config and has the same fields, so code written for
// rpcx's etcd, ZooKeeper and Consul companion modules moves over by changing
// the type name. A RegistryOptions is read when a plugin starts or a
// discovery is created; do not change it afterwards.
type RegistryOptions struct {
	// ClientTLS names PEM files for mutual TLS; it is used when TLS is nil.
	ClientTLS *RegistryTLSFiles
	// TLS is the TLS configuration for the registry connection; nil (and
	// no ClientTLS) means plain TCP.
	TLS *tls.Config
	// ConnectionTimeout bounds dialing and each registry request; zero
	// means DefaultRegistryConnectionTimeout.
	ConnectionTimeout time.Duration
	// Bucket is the bucket name of bucket-based stores (kept for libkv
	// compatibility; the etcd, ZooKeeper and Consul registries ignore it).
	Bucket string
	// PersistConnection asks stores that support it to keep one connection
	// open (kept for libkv compatibility; courier's registry clients always
	// keep their connection).
	PersistConnection bool
	// Username and Password authenticate to the registry (etcd user
	// authentication, Consul ACL token in Password when Username is empty).
	Username string
	Password string
}

// RegistryTLSFiles names the PEM files of a registry TLS configuration
// (libkv's store.ClientTLSConfig).
type RegistryTLSFiles struct {
	CertFile   string
	KeyFile    string
	CACertFile string
}

// Timeout returns ConnectionTimeout, or DefaultRegistryConnectionTimeout
// when o is nil or the field is not positive.
func (o *RegistryOptions) Timeout() time.Duration {
	if o == nil || o.ConnectionTimeout <= 0 {
		return DefaultRegistryConnectionTimeout
	}
	return o.ConnectionTimeout
}

// TLSConfig returns the TLS configuration to use: a clone of TLS, or one
// built from ClientTLS, or nil for plain TCP. File errors wrap
// ErrRegistryOptions.
func (o *RegistryOptions) TLSConfig() (*tls.Config, error) {
	if o == nil {
		return nil, nil
	}
	if o.TLS != nil {
		return o.TLS.Clone(), nil
	}
	f := o.ClientTLS
	if f == nil {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CertFile != "" || f.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate: %w", ErrRegistryOptions, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.CACertFile != "" {
		pem, err := os.ReadFile(f.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %w", ErrRegistryOptions, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrRegistryOptions, f.CACertFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Errors of registry clients, returned (wrapped) by the register plugins and
// registry discoveries of every registry (etcd, ZooKeeper, Consul, mDNS).
var (
	// ErrRegistryUnavailable reports a registry that did not answer within
	// the connection timeout.
	ErrRegistryUnavailable = errors.New("share: registry unavailable")
	// ErrRegistryKeyNotFound reports a service with no entry in the registry
	// when the caller did not allow that (rpcx's allowKeyNotFound = false).
	ErrRegistryKeyNotFound = errors.New("share: service not found in registry")
)
