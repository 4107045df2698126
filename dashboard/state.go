package dashboard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/courier-rpc/courier/internal/registryadmin"
)

// dashboard is the running state behind the handlers. The source loop
// (runSource) is the only writer of services/sourceErr/admin; the scraper
// loop the only writer of traffic's series.
type dashboard struct {
	cfg     Config
	traffic *traffic
	calls   *callers
	open    func(context.Context) (registryadmin.Admin, error) // opens cfg.Registry; tests replace it

	mu        sync.RWMutex
	admin     registryadmin.Admin // nil until the registry answered, and in Addr mode
	services  []registryadmin.Service
	sourceErr string
	updated   time.Time
}

func newDashboard(cfg Config) *dashboard {
	return &dashboard{
		cfg:     cfg,
		traffic: newTraffic(cfg.ScrapeInterval, cfg.Window),
		calls:   newCallers(cfg.Timeout),
		open: func(ctx context.Context) (registryadmin.Admin, error) {
			return registryadmin.OpenURL(ctx, cfg.Registry, registryadmin.Options{Timeout: cfg.Timeout})
		},
	}
}

func (d *dashboard) close() {
	d.calls.close()
	d.mu.Lock()
	a := d.admin
	d.admin = nil
	d.mu.Unlock()
	if a != nil {
		_ = a.Close()
	}
}

// setList publishes a new list of services (err == nil) or a source error
// that keeps the last list.
func (d *dashboard) setList(list []registryadmin.Service, err error) {
	d.mu.Lock()
	if err != nil {
		d.sourceErr = err.Error()
	} else {
		d.services, d.sourceErr, d.updated = list, "", time.Now()
	}
	d.mu.Unlock()
	if err == nil {
		servers := map[string]string{}
		for _, s := range list {
			for _, srv := range s.Servers {
				// One process serves several services: the entry that
				// names a metrics URL wins.
				if _, seen := servers[srv.Key]; !seen || strings.Contains(srv.Metadata, "metrics=") {
					servers[srv.Key] = srv.Metadata
				}
			}
		}
		d.traffic.sync(servers)
	}
}

// runSource keeps the list of services current until ctx is done.
func (d *dashboard) runSource(ctx context.Context) {
	if d.cfg.Registry != "" {
		d.runRegistry(ctx)
		return
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		d.setList(d.describeAddrs(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runRegistry opens the registry (retrying every second until it
// answers) and then follows its changes.
func (d *dashboard) runRegistry(ctx context.Context) {
	var a registryadmin.Admin
	for a == nil {
		var err error
		a, err = d.open(ctx)
		if err != nil {
			d.setList(nil, err)
			if !sleep(ctx, time.Second) {
				return
			}
		}
	}
	d.mu.Lock()
	d.admin = a
	d.mu.Unlock()
	for list := range registryadmin.Watch(ctx, a, time.Second, func(err error) { d.setList(nil, err) }) {
		d.setList(list, nil)
	}
}

// describeAddrs lists the services of the -addr servers from their
// reflection.
func (d *dashboard) describeAddrs(ctx context.Context) ([]registryadmin.Service, error) {
	by := map[string][]registryadmin.Server{}
	for _, addr := range splitAddrs(d.cfg.Addr) {
		names, err := d.calls.serviceNames(ctx, addr)
		if err != nil {
			return nil, fmt.Errorf("server %s: %w", addr, err)
		}
		for _, n := range names {
			by[n] = append(by[n], registryadmin.Server{Key: addr, Fields: registryadmin.Fields{Active: true}})
		}
	}
	var list []registryadmin.Service
	for name, servers := range by {
		list = append(list, registryadmin.Service{Name: name, Servers: servers})
	}
	sortServices(list)
	return list, nil
}

// runScraper reads every server's metrics each interval until ctx is done.
func (d *dashboard) runScraper(ctx context.Context) {
	t := time.NewTicker(d.cfg.ScrapeInterval)
	defer t.Stop()
	for {
		d.traffic.scrapeAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// stateView is the body of GET /api/state.
type stateView struct {
	Source        string                   `json:"source"`
	Writable      bool                     `json:"writable"`
	TokenRequired bool                     `json:"tokenRequired"`
	Error         string                   `json:"error,omitempty"`
	Updated       int64                    `json:"updated"`
	Services      []registryadmin.Service  `json:"services"`
	Traffic       map[string]serverSummary `json:"traffic"`
}

// overviewPoints is how many recent points per server /api/state carries.
const overviewPoints = 30

func (d *dashboard) state() stateView {
	d.mu.RLock()
	v := stateView{
		Source:        d.cfg.Registry,
		Writable:      d.cfg.Registry != "",
		TokenRequired: d.cfg.Token != "",
		Error:         d.sourceErr,
		Services:      d.services,
	}
	if !d.updated.IsZero() {
		v.Updated = d.updated.UnixMilli()
	}
	d.mu.RUnlock()
	if v.Source == "" {
		v.Source = d.cfg.Addr
	}
	if v.Services == nil {
		v.Services = []registryadmin.Service{}
	}
	v.Traffic = d.traffic.overview(overviewPoints)
	return v
}

// server finds a listed server; ok is false when it is not listed.
func (d *dashboard) server(service, key string) (registryadmin.Server, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, s := range d.services {
		if s.Name != service && service != "" {
			continue
		}
		for _, srv := range s.Servers {
			if srv.Key == key {
				return srv, true
			}
		}
	}
	return registryadmin.Server{}, false
}
