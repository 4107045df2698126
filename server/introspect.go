package server

import (
	"sort"
	"time"
)

// ConnInfo describes one connection being served, for debug pages.
type ConnInfo struct {
	// Remote and Local are the connection's addresses.
	Remote, Local string
	// Network is the local address's network ("tcp", "unix", ...).
	Network string
	// Since is when the connection was accepted.
	Since time.Time
	// InFlight counts its requests being handled.
	InFlight int
}

// Connections returns the connections being served, oldest first. Safe for
// concurrent use; the answer is a snapshot.
func (s *Server) Connections() []ConnInfo {
	s.mu.Lock()
	out := make([]ConnInfo, 0, len(s.conns))
	for nc, c := range s.conns {
		out = append(out, ConnInfo{
			Remote: nc.RemoteAddr().String(), Local: nc.LocalAddr().String(), Network: nc.LocalAddr().Network(),
			Since: time.Unix(0, c.since), InFlight: len(c.sem),
		})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// ListMethods returns the method names of service, sorted (nil when there
// is no such service). Handlers added with AddHandler are listed under
// their service path too.
func (s *Server) ListMethods(service string) []string {
	r := s.loadRegistry()
	var out []string
	if svc, ok := r.services[service]; ok {
		for name := range svc.methods {
			out = append(out, name)
		}
	}
	for name := range r.router[service] {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
