package health

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

// ServiceName is the name the Health service is registered under.
const ServiceName = share.HealthServiceName

// Status is a serving status, spelled as in grpc.health.v1.
type Status = share.HealthStatus

// The serving statuses.
const (
	// Serving: the server (or service) takes calls.
	Serving = share.HealthServing
	// NotServing: the server is starting, shutting down or held out of
	// rotation (server.SetReady(false)), or the service was set so.
	NotServing = share.HealthNotServing
	// ServiceUnknown: no service of that name is registered.
	ServiceUnknown = share.HealthServiceUnknown
)

// WatchTimeout is the longest a Watch call waits for a change before it
// returns the unchanged status.
const WatchTimeout = 30 * time.Second

// pollInterval is how often a waiting Watch re-reads the status in case a
// ReadinessPlugin changed without calling server.NotifyReadiness.
const pollInterval = time.Second

// ErrNilServer is returned by Register for a nil server.
var ErrNilServer = errors.New("health: nil server")

// CheckRequest is the argument of Check and Watch: Service is a service
// name, or "" for the whole server. Last (Watch only) is the status the
// caller last saw; "" returns the current status at once.
type CheckRequest = share.HealthCheckRequest

// CheckResponse is the reply of Check and Watch.
type CheckResponse = share.HealthCheckResponse

// ListRequest is the argument of List (it has no fields).
type ListRequest struct{}

// ListResponse is the reply of List: the status of the whole server
// (key "") and of every registered service.
type ListResponse struct {
	Statuses map[string]Status `json:"statuses" msgpack:"statuses"`
}

// Service is the Health service of one server. Its methods are safe for
// concurrent use.
type Service struct {
	srv *server.Server

	mu        sync.Mutex
	overrides map[string]Status
	changed   chan struct{} // closed at the next SetServingStatus
}

// New returns the Health service of s without registering it (use
// Register, or s.RegisterName(ServiceName, h, "") yourself).
func New(s *server.Server) *Service {
	return &Service{srv: s, overrides: map[string]Status{}, changed: make(chan struct{})}
}

// Register creates the Health service of s and registers it under
// ServiceName. Errors: ErrNilServer, or those of RegisterName.
func Register(s *server.Server) (*Service, error) {
	if s == nil {
		return nil, ErrNilServer
	}
	h := New(s)
	if err := s.RegisterName(ServiceName, h, ""); err != nil {
		return nil, err
	}
	return h, nil
}

// SetServingStatus overrides the status of service (a registered name, or
// "" for the whole server): NotServing takes it out of rotation, Serving
// follows the server again (a service is never more serving than its
// server). An empty status removes the override. Watchers are woken.
func (h *Service) SetServingStatus(service string, st Status) {
	h.mu.Lock()
	if st == "" || st == Serving {
		delete(h.overrides, service)
	} else {
		h.overrides[service] = st
	}
	ch := h.changed
	h.changed = make(chan struct{})
	h.mu.Unlock()
	close(ch)
}

// Status returns the status of service ("" for the whole server).
func (h *Service) Status(service string) Status {
	h.mu.Lock()
	ov, hasOv := h.overrides[service]
	whole, hasWhole := h.overrides[""]
	h.mu.Unlock()
	if service != "" && !slices.Contains(h.srv.ListServices(), service) {
		return ServiceUnknown
	}
	if !h.srv.Ready() || (hasWhole && whole != Serving) {
		return NotServing
	}
	if hasOv {
		return ov
	}
	return Serving
}

// Check answers the status of args.Service.
func (h *Service) Check(_ context.Context, args *CheckRequest, reply *CheckResponse) error {
	reply.Status = h.Status(args.Service)
	return nil
}

// List answers the status of the whole server (key "") and of every
// registered service.
func (h *Service) List(_ context.Context, _ *ListRequest, reply *ListResponse) error {
	names := h.srv.ListServices()
	reply.Statuses = make(map[string]Status, len(names)+1)
	reply.Statuses[""] = h.Status("")
	for _, n := range names {
		reply.Statuses[n] = h.Status(n)
	}
	return nil
}

// Watch answers the status of args.Service as soon as it differs from
// args.Last (at once when Last is empty). Otherwise it waits for a change,
// for WatchTimeout, for nine tenths of the time left before the caller's
// deadline (so that the unchanged answer reaches the caller before it
// gives up), or for a step of the server's lifecycle (a listener starting,
// Shutdown's steps), and then answers the status it has (possibly
// unchanged); once the server is stopping (Server.Stopping) it answers at
// once, so that a Watch never holds up Shutdown. Errors:
// none; a cancelled caller gets the current status.
func (h *Service) Watch(ctx context.Context, args *CheckRequest, reply *CheckResponse) error {
	timeout := time.NewTimer(watchWait(ctx))
	defer timeout.Stop()
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	for {
		h.mu.Lock()
		mine := h.changed
		h.mu.Unlock()
		srvCh := h.srv.ReadinessChanged()
		st := h.Status(args.Service)
		if args.Last == "" || st != args.Last || h.srv.Stopping() {
			reply.Status = st
			return nil
		}
		select {
		case <-mine:
		case <-srvCh:
			// The server's lifecycle moved (possibly to Shutdown, which
			// waits for calls in flight): answer now, changed or not.
			reply.Status = h.Status(args.Service)
			return nil
		case <-poll.C:
		case <-timeout.C:
			reply.Status = st
			return nil
		case <-ctx.Done():
			reply.Status = st
			return nil
		}
	}
}

// watchWait is how long a Watch may wait for a change: WatchTimeout, or
// less when the caller's deadline comes first.
func watchWait(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return min(WatchTimeout, time.Until(dl)*9/10)
	}
	return WatchTimeout
}
