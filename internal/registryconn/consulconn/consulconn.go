// Package consulconn opens courier's Consul API clients (see package
// registryconn).
package consulconn

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/courier-rpc/courier/share"
)

// New returns a Consul API client for addr ("host:port" or a URL) with its
// own HTTP transport, which keeps at most maxIdle idle connections to the
// agent; the caller releases them with the transport's
// CloseIdleConnections. o gives the dial and TLS handshake timeout, TLS
// (https when addr has no scheme) and credentials: HTTP basic auth when
// Username is set, else Password as the ACL token (nil: plain, defaults).
// Errors are those of api.NewClient, or of reading o's TLS files.
func New(addr string, o *share.RegistryOptions, maxIdle int) (*api.Client, *http.Transport, error) {
	tlsCfg, err := o.TLSConfig()
	if err != nil {
		return nil, nil, err
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.Timeout(), KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: o.Timeout(),
		TLSClientConfig:     tlsCfg,
	}
	cfg := &api.Config{Address: addr, Transport: tr, HttpClient: &http.Client{Transport: tr}}
	if tlsCfg != nil && !strings.Contains(addr, "://") {
		cfg.Scheme = "https"
	}
	if o != nil {
		if o.Username != "" {
			cfg.HttpAuth = &api.HttpBasicAuth{Username: o.Username, Password: o.Password}
		} else if o.Password != "" {
			cfg.Token = o.Password
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, tr, nil
}
