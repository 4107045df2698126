package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
)

// connFlags are the flags every command shares.
type connFlags struct {
	addr     string
	timeout  time.Duration
	meta     string
	auth     string
	ser      string
	gzip     bool
	useTLS   bool
	tlsCA    string
	insecure bool
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "tcp@127.0.0.1:8972", "server address, network@host:port")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "deadline of each call")
	fs.StringVar(&c.meta, "meta", "", "request metadata, k=v,k2=v2")
	fs.StringVar(&c.auth, "auth", "", "auth token (metadata __AUTH)")
	fs.StringVar(&c.ser, "ser", "json", "serialize type of the argument: json, raw, msgpack, protobuf")
	fs.BoolVar(&c.gzip, "gzip", false, "gzip the request payload")
	fs.BoolVar(&c.useTLS, "tls", false, "connect with TLS")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server certificate")
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
	return 0, fmt.Errorf("unknown serialize type %q (json, raw, msgpack, protobuf)", c.ser)
}

func (c *connFlags) metadata() (map[string]string, error) {
	md := map[string]string{}
	if c.meta != "" {
		for _, kv := range strings.Split(c.meta, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("bad -meta entry %q, want k=v", kv)
			}
			md[k] = v
		}
	}
	if c.auth != "" {
		md[share.AuthKey] = c.auth
	}
	return md, nil
}

// dial connects a client to -addr.
func (c *connFlags) dial() (*client.Client, error) {
	opt := client.DefaultOption
	opt.ConnectTimeout = c.timeout
	if c.useTLS || c.insecure || c.tlsCA != "" {
		cfg := &tls.Config{InsecureSkipVerify: c.insecure} //nolint:gosec // asked for by -tls-insecure
		if c.tlsCA != "" {
			pem, err := os.ReadFile(c.tlsCA)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("no certificate in %s", c.tlsCA)
			}
			cfg.RootCAs = pool
		}
		opt.TLSConfig = cfg
	}
	network, address := util.SplitNetworkAddress(c.addr)
	cl := client.NewClient(opt)
	if err := cl.Connect(network, address); err != nil {
		return nil, fmt.Errorf("connect %s: %w", c.addr, err)
	}
	return cl, nil
}

// request builds a raw request message for Service.Method with payload.
func (c *connFlags) request(target string, payload []byte) (*protocol.Message, error) {
	svc, method, ok := strings.Cut(target, ".")
	if !ok || svc == "" || method == "" {
		return nil, fmt.Errorf("bad target %q, want Service.Method", target)
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

// send sends one raw request with the call deadline.
func (c *connFlags) send(cl *client.Client, m *protocol.Message) (map[string]string, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	return cl.SendRaw(ctx, m)
}
