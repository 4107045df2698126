package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
	"github.com/spf13/pflag"
)

// connFlags are the connection and request flags of call, list, describe,
// health and bench.
type connFlags struct {
	addr     string
	timeout  time.Duration
	headers  []string
	auth     string
	ser      string
	gzip     bool
	useTLS   bool
	tlsCA    string
	tlsCert  string
	tlsKey   string
	tlsName  string
	insecure bool
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&c.addr, "addr", "a", "tcp@127.0.0.1:8972", "server address, network@host:port (tcp, unix, ...)")
	fs.DurationVarP(&c.timeout, "timeout", "t", 5*time.Second, "deadline of each call, and of connecting")
	fs.StringArrayVarP(&c.headers, "header", "H", nil, "request metadata key=value (repeatable)")
	fs.StringVar(&c.auth, "auth", "", "auth token (sent as metadata __AUTH)")
	fs.StringVar(&c.ser, "ser", "json", "serialize type of the argument: json, raw, msgpack, protobuf")
	fs.BoolVar(&c.gzip, "gzip", false, "gzip the request payload")
	fs.BoolVar(&c.useTLS, "tls", false, "connect with TLS (implied by the other --tls-* flags)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server certificate")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM client certificate, for mutual TLS (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM key of --tls-cert")
	fs.StringVar(&c.tlsName, "tls-server-name", "", "server name to verify (default: the host of --addr)")
	fs.BoolVar(&c.insecure, "tls-insecure", false, "do not verify the server certificate")
}

func (c *connFlags) serializeType() (protocol.SerializeType, error) {
	switch c.ser {
	case "json":
		return protocol.JSON, nil
	case "raw", "none":
		return protocol.SerializeNone, nil
	case "msgpack":
		return protocol.MsgPack, nil
	case "protobuf", "pb":
		return protocol.ProtoBuffer, nil
	}
	return 0, usageErr("unknown serialize type %q (json, raw, msgpack, protobuf)", c.ser)
}

func (c *connFlags) metadata() (map[string]string, error) {
	md := map[string]string{}
	for _, kv := range c.headers {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			k, v, ok = strings.Cut(kv, ":")
		}
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, usageErr("bad -H %q, want key=value", kv)
		}
		md[k] = strings.TrimSpace(v)
	}
	if c.auth != "" {
		md[share.AuthKey] = c.auth
	}
	return md, nil
}

func (c *connFlags) tlsConfig() (*tls.Config, error) {
	if !c.useTLS && !c.insecure && c.tlsCA == "" && c.tlsCert == "" && c.tlsKey == "" && c.tlsName == "" {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: c.insecure, ServerName: c.tlsName} //nolint:gosec // asked for by --tls-insecure
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, usageErr("--tls-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErr("--tls-ca: no PEM certificate in %s", c.tlsCA)
		}
		cfg.RootCAs = pool
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, usageErr("--tls-cert and --tls-key go together")
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, usageErr("--tls-cert/--tls-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// dial connects a client to --addr. Failures are exitUnreachable, except
// bad TLS files (exitUsage).
func (c *connFlags) dial() (*client.Client, error) {
	opt := client.DefaultOption
	opt.ConnectTimeout = c.timeout
	cfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	opt.TLSConfig = cfg
	network, address := util.SplitNetworkAddress(c.addr)
	if network == "" || address == "" {
		return nil, usageErr("bad --addr %q, want network@host:port", c.addr)
	}
	cl := client.NewClient(opt)
	if err := cl.Connect(network, address); err != nil {
		return nil, &exitError{code: exitUnreachable, err: fmt.Errorf("connect %s: %w", c.addr, err)}
	}
	return cl, nil
}

// request builds a raw request message for Service.Method with payload.
func (c *connFlags) request(target string, payload []byte) (*protocol.Message, error) {
	svc, method, ok := strings.Cut(target, ".")
	if !ok || svc == "" || method == "" {
		return nil, usageErr("bad target %q, want Service.Method", target)
	}
	st, err := c.serializeType()
	if err != nil {
		return nil, err
	}
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	m := protocol.NewMessage()
	m.SetSerializeType(st)
	if c.gzip {
		m.SetCompressType(protocol.Gzip)
	}
	m.ServicePath, m.ServiceMethod, m.Payload = svc, method, payload
	if len(md) > 0 {
		m.Metadata = md
	}
	return m, nil
}

// send sends one raw request with the call deadline and classifies its
// error (see classify).
func (c *connFlags) send(ctx context.Context, cl *client.Client, m *protocol.Message) (map[string]string, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	meta, reply, err := cl.SendRaw(ctx, m)
	return meta, reply, classify(err)
}

// callJSON sends one JSON-encoded request to target on a fresh connection
// and returns the reply's payload. A remote error is wrapped with hint
// (what the server may be missing) when want(err) holds.
func (c *connFlags) callJSON(ctx context.Context, target string, arg any, hint string, want func(error) bool) ([]byte, error) {
	c.ser = "json"
	payload, err := json.Marshal(arg)
	if err != nil {
		return nil, usageErr("encode the argument of %s: %v", target, err)
	}
	req, err := c.request(target, payload)
	if err != nil {
		return nil, err
	}
	cl, err := c.dial()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if ctx == nil {
		ctx = context.Background()
	}
	_, reply, err := c.send(ctx, cl, req)
	var ee *exitError
	if err != nil && errors.As(err, &ee) && ee.code == exitRemote && want(err) {
		return nil, &exitError{code: exitRemote, err: fmt.Errorf("%w (%s)", err, hint)}
	}
	return reply, err
}

// classify turns a call error into an exitError: a service error (the
// server answered with an error) is exitRemote with its code named, a
// timeout or connection failure exitUnreachable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se client.ServiceError
	if errors.As(err, &se) && se.IsServiceError() {
		code := share.CodeOf(err)
		return &exitError{code: exitRemote, err: fmt.Errorf("error %s (%d): %s", code, code, se.Error())}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &exitError{code: exitUnreachable, err: fmt.Errorf("no answer within the timeout: %w", err)}
	}
	return &exitError{code: exitUnreachable, err: fmt.Errorf("call failed: %w", err)}
}
