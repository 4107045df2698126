package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/courier-rpc/courier/internal/registryadmin"
)

// Defaults of Config.
const (
	DefaultListen         = "127.0.0.1:8980"
	DefaultScrapeInterval = 2 * time.Second
	DefaultWindow         = 5 * time.Minute
	DefaultTimeout        = 5 * time.Second
)

// ErrConfig reports a Config that cannot work; Serve's errors wrap it.
var ErrConfig = errors.New("dashboard: bad configuration")

// Config configures Serve. Exactly one of Registry and Addr is set.
type Config struct {
	// Registry is the registry URL: etcd://h:p[,h:p]/base,
	// zookeeper://h:p/base or consul://h:p/base.
	Registry string
	// Addr lists servers without a registry ("tcp@127.0.0.1:8972", several
	// separated by commas); their services come from their reflection
	// service, and metadata cannot be edited.
	Addr string
	// Listen is the dashboard's own address; DefaultListen when empty.
	Listen string
	// Token, when set, must come with every write (header
	// X-Courier-Token). Required when Listen is not a loopback address.
	Token string
	// ScrapeInterval is how often servers' metrics are read
	// (DefaultScrapeInterval when zero); Window how much traffic is kept
	// (DefaultWindow when zero).
	ScrapeInterval, Window time.Duration
	// Timeout bounds registry requests and the default call timeout
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// OnListen, when set, is called with the listening address once the
	// dashboard accepts connections.
	OnListen func(net.Addr)
}

func (c *Config) normalize() error {
	if (c.Registry == "") == (c.Addr == "") {
		return fmt.Errorf("%w: set exactly one of the registry URL and the server address", ErrConfig)
	}
	if c.Registry != "" {
		if _, err := registryadmin.ParseURL(c.Registry); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	for _, a := range splitAddrs(c.Addr) {
		if n, hp, ok := strings.Cut(a, "@"); !ok || n == "" || hp == "" {
			return fmt.Errorf("%w: server address %q is not network@address", ErrConfig, a)
		}
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Token == "" && !loopback(c.Listen) {
		return fmt.Errorf("%w: listening on %s (beyond loopback) needs a token", ErrConfig, c.Listen)
	}
	if c.ScrapeInterval <= 0 {
		c.ScrapeInterval = DefaultScrapeInterval
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return nil
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// loopback reports whether a listen address binds only loopback.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve runs the dashboard until ctx is done, then shuts its HTTP server
// down and returns nil. A bad Config or an address that cannot be bound
// gives an error at once. A registry that is down does not stop it: the
// page says so and the dashboard keeps trying.
func Serve(ctx context.Context, cfg Config) error {
	if err := cfg.normalize(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("dashboard: listen: %w", err)
	}
	d := newDashboard(cfg)
	defer d.close()
	return d.serve(ctx, ln)
}

// serve runs the background loops and the HTTP server on ln until ctx is
// done.
func (d *dashboard) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wait := d.start(ctx)
	srv := &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if d.cfg.OnListen != nil {
		d.cfg.OnListen(ln.Addr())
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	cancel()
	wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dashboard: serve: %w", err)
	}
	return nil
}

// start runs the source and scraper loops until ctx is done; the returned
// function waits for them.
func (d *dashboard) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.runSource(ctx) }()
	go func() { defer wg.Done(); d.runScraper(ctx) }()
	return wg.Wait
}
