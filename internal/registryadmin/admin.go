package registryadmin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/courier-rpc/courier/share"
)

// DefaultTimeout bounds each registry request when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Options tunes Open. The zero value is usable.
type Options struct {
	// Timeout bounds connecting and each request; DefaultTimeout when zero.
	Timeout time.Duration
	// Username and Password authenticate to etcd (both), ZooKeeper (a
	// "digest" auth when Username is set) or Consul (Password is the ACL
	// token).
	Username, Password string
}

// registryOptions is o as the shared registry connections take it.
func (o Options) registryOptions() *share.RegistryOptions {
	return &share.RegistryOptions{ConnectionTimeout: o.timeout(), Username: o.Username, Password: o.Password}
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// Server is one registered server of a service: its key
// ("network@address"), its raw metadata and the metadata parsed into
// fields (MetadataErr says why when the raw value is not a query string).
type Server struct {
	Key         string `json:"key"`
	Metadata    string `json:"metadata"`
	Fields      Fields `json:"fields"`
	MetadataErr string `json:"metadataError,omitempty"`
}

// Service is a registered service and its servers, sorted by key.
type Service struct {
	Name    string   `json:"name"`
	Servers []Server `json:"servers"`
}

// Admin reads and edits one registry. Implementations are safe for
// concurrent use.
type Admin interface {
	// Target returns the registry this Admin was opened on.
	Target() Target
	// Services lists every service under the base path with its servers,
	// sorted by name. Errors wrap ErrUnavailable when the registry does not
	// answer within the timeout.
	Services(ctx context.Context) ([]Service, error)
	// Changed blocks until something under the base path may have changed
	// since the last Services call, ctx is done (ctx.Err()), or the
	// registry fails (an error wrapping ErrUnavailable). A spurious return
	// is allowed: callers list again.
	Changed(ctx context.Context) error
	// Update applies c to the metadata of server key of service, keeping the
	// entry's lease, ephemeral node or session, and returns the new raw
	// metadata. The write is conditional on the value read (retried on a
	// race, ErrConflict after three). Unknown entries give ErrNotFound.
	Update(ctx context.Context, service, key string, c Change) (string, error)
	// Close releases the connection. Later calls fail.
	Close() error
}

// Open connects to the registry t names; it waits at most the timeout for
// the first answer, so a registry that is down gives an error wrapping
// ErrUnavailable at once rather than later.
func Open(ctx context.Context, t Target, o Options) (Admin, error) {
	switch t.Kind {
	case KindEtcd:
		return openEtcd(ctx, t, o)
	case KindZooKeeper:
		return openZooKeeper(ctx, t, o)
	case KindConsul:
		return openConsul(ctx, t, o)
	}
	return nil, fmt.Errorf("%w: unknown kind %q", ErrBadURL, t.Kind)
}

// OpenURL is ParseURL followed by Open.
func OpenURL(ctx context.Context, rawURL string, o Options) (Admin, error) {
	t, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return Open(ctx, t, o)
}

// Watch lists the registry now and after every change, sending each list
// on the returned channel (capacity 1: a slow reader gets the newest list,
// intermediate ones are dropped). When the registry fails it sends the
// error to onErr (may be nil), waits retry (1 s when zero) and lists
// again. The channel is closed when ctx is done.
func Watch(ctx context.Context, a Admin, retry time.Duration, onErr func(error)) <-chan []Service {
	if retry <= 0 {
		retry = time.Second
	}
	out := make(chan []Service, 1)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			list, err := a.Services(ctx)
			if err == nil {
				publish(out, list)
				err = a.Changed(ctx)
			}
			if err == nil || ctx.Err() != nil {
				continue
			}
			if onErr != nil {
				onErr(err)
			}
			t := time.NewTimer(retry)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}()
	return out
}

// publish replaces any unread list in out with list.
func publish(out chan []Service, list []Service) {
	select {
	case <-out:
	default:
	}
	out <- list
}

// collector groups "service/key" entries into sorted Services.
type collector map[string]map[string]string

// add records the entry rel (relative to the base path): "service" alone
// is a service directory, "service/network@address" a server. Deeper
// names are kept whole as the key (a Unix socket path has slashes).
func (c collector) add(rel, value string) {
	rel = strings.TrimPrefix(rel, "/")
	svc, key, _ := strings.Cut(rel, "/")
	if svc == "" {
		return
	}
	if c[svc] == nil {
		c[svc] = map[string]string{}
	}
	if key != "" {
		c[svc][key] = value
	}
}

func (c collector) services() []Service {
	out := make([]Service, 0, len(c))
	for name, servers := range c {
		s := Service{Name: name, Servers: make([]Server, 0, len(servers))}
		for k, v := range servers {
			srv := Server{Key: k, Metadata: v}
			f, err := ParseMetadata(v)
			srv.Fields = f
			if err != nil {
				srv.MetadataErr = err.Error()
			}
			s.Servers = append(s.Servers, srv)
		}
		slices.SortFunc(s.Servers, func(a, b Server) int { return strings.Compare(a.Key, b.Key) })
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// checkEntry validates the service and key of an Update.
func checkEntry(service, key string) error {
	if service == "" || strings.Contains(service, "/") {
		return fmt.Errorf("%w: service name %q", ErrNotFound, service)
	}
	if !strings.Contains(key, "@") {
		return fmt.Errorf("%w: server %q is not network@address", ErrNotFound, key)
	}
	return nil
}

// join joins non-empty path parts with "/".
func join(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), "/")
}

// maxUpdateAttempts is how often Update retries a conditional write that
// lost a race.
const maxUpdateAttempts = 3
