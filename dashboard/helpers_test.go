package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/internal/registryadmin"
	"github.com/courier-rpc/courier/reflection"
	"github.com/courier-rpc/courier/server"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// fakeAdmin is an in-memory registry; down makes every call fail as an
// unreachable registry does.
type fakeAdmin struct {
	mu      sync.Mutex
	list    []registryadmin.Service
	down    bool
	changed chan struct{}
}

func newFakeAdmin(list ...registryadmin.Service) *fakeAdmin {
	return &fakeAdmin{list: list, changed: make(chan struct{}, 1)}
}

func (f *fakeAdmin) Target() registryadmin.Target { return registryadmin.Target{Kind: "etcd"} }
func (f *fakeAdmin) Close() error                 { return nil }

func (f *fakeAdmin) Services(ctx context.Context) ([]registryadmin.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, fmt.Errorf("%w: etcd [127.0.0.1:1]: connection refused", registryadmin.ErrUnavailable)
	}
	out := make([]registryadmin.Service, len(f.list))
	for i, s := range f.list {
		out[i] = registryadmin.Service{Name: s.Name, Servers: append([]registryadmin.Server(nil), s.Servers...)}
	}
	return out, nil
}

func (f *fakeAdmin) Changed(ctx context.Context) error {
	select {
	case <-f.changed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeAdmin) Update(ctx context.Context, service, key string, c registryadmin.Change) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return "", fmt.Errorf("%w: etcd: connection refused", registryadmin.ErrUnavailable)
	}
	for _, s := range f.list {
		for i, srv := range s.Servers {
			if s.Name == service && srv.Key == key {
				md, err := c.Apply(srv.Metadata)
				if err != nil {
					return "", err
				}
				s.Servers[i].Metadata = md
				s.Servers[i].Fields, _ = registryadmin.ParseMetadata(md)
				f.poke()
				return md, nil
			}
		}
	}
	return "", fmt.Errorf("%w: server %s of service %s", registryadmin.ErrNotFound, key, service)
}

func (f *fakeAdmin) poke() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func srv(key, md string) registryadmin.Server {
	f, _ := registryadmin.ParseMetadata(md)
	return registryadmin.Server{Key: key, Metadata: md, Fields: f}
}

// startDash runs a dashboard whose registry is admin (nil: Addr mode with
// cfg.Addr) behind an httptest server, stopped at cleanup.
func startDash(t *testing.T, cfg Config, admin registryadmin.Admin, openErr error) (*dashboard, *httptest.Server) {
	t.Helper()
	if cfg.Registry == "" && cfg.Addr == "" {
		cfg.Registry = "etcd://127.0.0.1:1/test"
	}
	if cfg.ScrapeInterval == 0 {
		cfg.ScrapeInterval = 50 * time.Millisecond
	}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	d := newDashboard(cfg)
	d.open = func(context.Context) (registryadmin.Admin, error) {
		if openErr != nil {
			return nil, openErr
		}
		return admin, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := d.start(ctx)
	ts := httptest.NewServer(d.handler())
	t.Cleanup(func() { ts.Close(); cancel(); wait(); d.close() })
	return d, ts
}

// startServer runs a courier server with Arith and reflection on
// loopback TCP and returns its key.
func startServer(t *testing.T) string {
	t.Helper()
	s := server.NewServer()
	r := reflection.New()
	if err := r.Register("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterName("Reflection", r, ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.ServeListener("tcp", ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return "tcp@" + ln.Addr().String()
}

type resp struct {
	status int
	body   map[string]any
	raw    []byte
}

func do(t *testing.T, ts *httptest.Server, method, path string, body any, hdr ...string) resp {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	r := resp{status: res.StatusCode, raw: buf.Bytes()}
	_ = json.Unmarshal(r.raw, &r.body)
	return r
}

// eventually polls cond every 20 ms for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
